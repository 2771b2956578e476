// Every test class here starts the whole system on the fixed ports of deploy/dapr.yaml: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
