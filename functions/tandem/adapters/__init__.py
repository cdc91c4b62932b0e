"""One module per outside thing. The only layer that imports boto3."""
