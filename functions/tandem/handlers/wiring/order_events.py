"""OrderEventsFunction's composition root."""

import time
from functools import cache

from tandem.adapters.live_tables import LiveCountersTable
from tandem.adapters.order_effects import DynamoOrderEffects, SqsEventParking, SqsFollowUps
from tandem.adapters.order_stream import DynamoStreamReplay
from tandem.handlers.wiring import now
from tandem.handlers.wiring.payments import card_pepper
from tandem.logic.order_events import OrderEventsDeps
from tandem.models.settings import OrderEventsSettings


@cache
def deps() -> OrderEventsDeps:
    config = OrderEventsSettings()
    return OrderEventsDeps(
        effects=DynamoOrderEffects(
            config.orders_table_name,
            LiveCountersTable(config.live_counters_table_name),
            config.fraud_signals_table_name,
            # The histories' customer keys are HMACs under the pepper the checkout reads them with.
            pepper=card_pepper(config.card_pepper_secret_arn, config.stage),
        ),
        follow_ups=SqsFollowUps(config.follow_up_queue_url),
        parking=SqsEventParking(config.order_events_dead_letter_queue_url),
        replay=DynamoStreamReplay(),
        clock=now,
        sleep=time.sleep,
    )
