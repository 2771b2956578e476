using Dcis.Crisis.DevSidecar.Protos;
using Dcis.Crisis.DevSidecar.PubSub;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dcis.Crisis.DevSidecar.Api;

/// <summary>gRPC <c>dapr.proto.runtime.v1.Dapr</c>: the pub/sub, metadata and shutdown RPCs (DAPR-CONTRACT.md §1.3).</summary>
public sealed class DaprGrpcService(Publisher publisher, SidecarState state) : Protos.Dapr.DaprBase
{
    private static string? Header(ServerCallContext context, string key) =>
        context.RequestHeaders.GetValue(key) is { Length: > 0 } value ? value : null;

    public override async Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        try
        {
            await publisher.PublishAsync(
                new PublishRequest(request.PubsubName, request.Topic, request.Data.Memory,
                    request.DataContentType.Length > 0 ? request.DataContentType : null,
                    request.Metadata, Header(context, "traceparent"), Header(context, "tracestate")),
                metadataField: false, context.CancellationToken);
            return new Empty();
        }
        catch (DaprApiException e)
        {
            throw e.ToRpcException();
        }
    }

    public override Task<BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishRequest request, ServerCallContext context) =>
        BulkPublishEvent(request, context);

    public override async Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context)
    {
        try
        {
            var entry = publisher.Resolve(request.PubsubName, request.Topic);
            var traceParent = Header(context, "traceparent");
            var traceState = Header(context, "tracestate");
            var prepared = new List<(string Id, byte[] Bytes, Dictionary<string, string>? Metadata)>(request.Entries.Count);
            foreach (var e in request.Entries)
            {
                // The request's metadata as is when the entry adds none (the SDK's case): no copy per entry.
                IReadOnlyDictionary<string, string> merged = request.Metadata;
                if (e.Metadata.Count > 0)
                {
                    var copy = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal);
                    foreach (var (k, v) in e.Metadata)
                    {
                        copy[k] = v;
                    }

                    merged = copy;
                }

                var bytes = publisher.Prepare(new PublishRequest(request.PubsubName, request.Topic, e.Event.Memory,
                    e.ContentType.Length > 0 ? e.ContentType : null, merged, traceParent, traceState));
                prepared.Add((e.EntryId, bytes, e.Metadata.Count > 0 ? new Dictionary<string, string>(e.Metadata) : null));
            }

            var failed = await HttpApi.StoreAllAsync(publisher, entry, request.Topic, prepared, context.CancellationToken);
            var response = new BulkPublishResponse();
            response.FailedEntries.AddRange(failed.Select(f => new BulkPublishResponseFailedEntry { EntryId = f.Id, Error = f.Error }));
            return response;
        }
        catch (DaprApiException e)
        {
            throw e.ToRpcException();
        }
    }

    public override Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(state.Metadata());

    public override Task<Empty> SetMetadata(SetMetadataRequest request, ServerCallContext context)
    {
        state.SetMetadata(request.Key, request.Value);
        return Task.FromResult(new Empty());
    }

    public override Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        state.ShutdownRequested.Cancel();
        return Task.FromResult(new Empty());
    }
}
