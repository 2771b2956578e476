using System.Text.Json;
using System.Text.Json.Nodes;
using Dcis.Crisis.DevSidecar.PubSub;
using Google.Protobuf;

namespace Dcis.Crisis.DevSidecar.Api;

/// <summary>daprd's HTTP API for pub/sub, health and metadata (DAPR-CONTRACT.md §1.1, §1.2, §1.5).</summary>
public static class HttpApi
{
    private static readonly JsonFormatter MetadataFormatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static void MapDaprHttpApi(this WebApplication app)
    {
        app.MapMethods("/v1.0/publish/{**rest}", ["POST", "PUT"], PublishAsync);
        app.MapPost("/v1.0-alpha1/publish/bulk/{**rest}", BulkPublishAsync);
        app.MapGet("/v1.0/healthz", (HttpContext context, SidecarOptions options, SidecarState state) =>
        {
            if (context.Request.Query["appid"] is { Count: > 0 } appId && appId != options.AppId)
            {
                return Error(500, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match");
            }

            return state.OutboundReady && state.AppReady ? Results.NoContent() : Error(500, "ERR_HEALTH_NOT_READY", "dapr is not ready");
        });
        app.MapGet("/v1.0/healthz/outbound", (SidecarState state) =>
            state.OutboundReady ? Results.NoContent() : Error(500, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready"));
        app.MapGet("/v1.0/metadata", (SidecarState state) =>
            Results.Content(MetadataFormatter.Format(state.Metadata()), "application/json"));
        app.MapPut("/v1.0/metadata/{key}", async (string key, HttpRequest request, SidecarState state, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            state.SetMetadata(key, await reader.ReadToEndAsync(ct));
            return Results.NoContent();
        });
        app.MapPost("/v1.0/shutdown", (SidecarState state) =>
        {
            state.ShutdownRequested.Cancel();
            return Results.NoContent();
        });
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new JsonObject { ["errorCode"] = code, ["message"] = message }, statusCode: status);

    private static IResult Error(DaprApiException error) =>
        Results.Content(error.ToJson().ToJsonString(), "application/json", statusCode: error.HttpStatus);

    /// <summary>Splits "/v1.0/publish/{pubsub}/{topic...}" keeping empty names, so they get daprd's errors.</summary>
    private static (string PubSub, string Topic) Names(HttpRequest request, string prefix)
    {
        var rest = Uri.UnescapeDataString(request.Path.Value![prefix.Length..]);
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }

    private static Dictionary<string, string> QueryMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query)
        {
            if (key.StartsWith("metadata.", StringComparison.Ordinal))
            {
                metadata[key["metadata.".Length..]] = value.ToString();
            }
        }

        return metadata;
    }

    private static async Task<IResult> PublishAsync(HttpContext context, Publisher publisher, CancellationToken cancellationToken)
    {
        var (pubsub, topic) = Names(context.Request, "/v1.0/publish/");
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, cancellationToken);
        var request = new PublishRequest(
            pubsub, topic, body.ToArray(), context.Request.ContentType, QueryMetadata(context.Request),
            context.Request.Headers.TraceParent.ToString() is { Length: > 0 } tp ? tp : null,
            context.Request.Headers.TraceState.ToString());
        try
        {
            // HTTP publish always hands the component a metadata map, so the entry gets a metadata field.
            await publisher.PublishAsync(request, metadataField: true, cancellationToken);
            return Results.NoContent();
        }
        catch (DaprApiException e)
        {
            return Error(e);
        }
    }

    private static async Task<IResult> BulkPublishAsync(HttpContext context, Publisher publisher, CancellationToken cancellationToken)
    {
        var (pubsub, topic) = Names(context.Request, "/v1.0-alpha1/publish/bulk/");
        var metadata = QueryMetadata(context.Request);
        try
        {
            var entry = publisher.Resolve(pubsub, topic);
            JsonArray entries;
            try
            {
                entries = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancellationToken) as JsonArray
                    ?? throw new JsonException("the body is not a JSON array");
            }
            catch (JsonException e)
            {
                throw DaprApiException.EventsSer(pubsub, e.Message);
            }

            var traceParent = context.Request.Headers.TraceParent.ToString();
            var prepared = new List<(string Id, byte[] Bytes, Dictionary<string, string>? Metadata)>();
            foreach (var item in entries.OfType<JsonObject>())
            {
                var id = item["entryId"]?.GetValue<string>() ?? "";
                var contentType = item["contentType"]?.GetValue<string>();
                var entryMetadata = item["metadata"] is JsonObject m
                    ? m.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "", StringComparer.Ordinal)
                    : null;
                var merged = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
                foreach (var (k, v) in entryMetadata ?? [])
                {
                    merged[k] = v;
                }

                var eventNode = item["event"];
                byte[] data = eventNode is JsonValue v2 && v2.TryGetValue<string>(out var text)
                    && !CloudEventEnvelope.IsJsonContentType(contentType) && !CloudEventEnvelope.IsCloudEventContentType(contentType)
                    ? System.Text.Encoding.UTF8.GetBytes(text)
                    : JsonSerializer.SerializeToUtf8Bytes(eventNode, CloudEventEnvelope.SerializerOptions);
                var bytes = publisher.Prepare(new PublishRequest(pubsub, topic, data, contentType, merged,
                    traceParent.Length > 0 ? traceParent : null, context.Request.Headers.TraceState.ToString()));
                prepared.Add((id, bytes, entryMetadata));
            }

            var failed = await StoreAllAsync(publisher, entry, topic, prepared, cancellationToken);
            if (failed.Count == 0)
            {
                return Results.NoContent();
            }

            var body = new JsonObject
            {
                ["failedEntries"] = new JsonArray([.. failed.Select(f => (JsonNode)new JsonObject { ["entryId"] = f.Id, ["error"] = f.Error })]),
                ["errorCode"] = "ERR_PUBSUB_PUBLISH_MESSAGE",
            };
            return Results.Content(body.ToJsonString(), "application/json", statusCode: 500);
        }
        catch (DaprApiException e)
        {
            return Error(e);
        }
    }

    /// <summary>Stores every entry concurrently (pipelined XADDs) and returns the ones that failed.</summary>
    public static async Task<List<(string Id, string Error)>> StoreAllAsync(
        Publisher publisher, PubSubEntry entry, string topic,
        IReadOnlyList<(string Id, byte[] Bytes, Dictionary<string, string>? Metadata)> prepared, CancellationToken cancellationToken)
    {
        var tasks = prepared.Select(async p =>
        {
            try
            {
                await publisher.StoreAsync(entry, topic, p.Bytes, Publisher.NullIfEmpty(p.Metadata), cancellationToken);
                return ((string Id, string Error)?)null;
            }
            catch (DaprApiException e)
            {
                return (p.Id, e.Message);
            }
        }).ToList();
        var results = await Task.WhenAll(tasks);
        return [.. results.Where(r => r is not null).Select(r => r!.Value)];
    }
}
