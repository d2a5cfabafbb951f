"""The shared queue for several containers: SQS FIFO plus a DynamoDB table."""
