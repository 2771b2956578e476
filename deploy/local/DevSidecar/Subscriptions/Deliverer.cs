using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dcis.Crisis.DevSidecar.PubSub;
using Dcis.Crisis.DevSidecar.Resources;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>
/// Delivers one stored entry to the app (DAPR-CONTRACT.md §4): parse, expire, route, POST under the
/// inbound resiliency policy, interpret the answer, dead-letter. Returns true when the entry may be
/// acknowledged. Batches of bulk subscriptions: Deliverer.Bulk.cs.
/// </summary>
public sealed partial class Deliverer(
    SidecarOptions options,
    AppChannel channel,
    Publisher publisher,
    ILogger<Deliverer> logger)
{
    private volatile bool _shuttingDown;

    /// <summary>From now on no entry is dead-lettered (daprd sends nothing to DLQs during shutdown).</summary>
    public void BeginShutdown() => _shuttingDown = true;

    public async Task<bool> DeliverAsync(SubscriptionSpec subscription, PubSubEntry pubsub, StreamMessage message, CancellationToken cancellationToken)
    {
        byte[] body = message.Data;
        JsonObject? cloudEvent = null;
        CloudEventFields fields;
        if (subscription.RawPayload)
        {
            cloudEvent = RawPayloadEnvelope(message, subscription);
            body = CloudEventEnvelope.Serialize(cloudEvent);
            fields = new CloudEventFields(null, Text(cloudEvent["traceparent"]), Text(cloudEvent["traceid"]), Text(cloudEvent["tracestate"]));
        }
        else if (!CloudEventFields.TryRead(message.Data, out fields))
        {
            logger.LogWarning("Entry {Id} of {Topic} is not a CloudEvent", message.Id, message.Topic);
            return await DeadLetterAsync(subscription, pubsub, message, "not a CloudEvent", cancellationToken);
        }

        if (IsExpired(fields))
        {
            logger.LogWarning("Dropping expired event {Id} of {Topic}", message.Id, message.Topic);
            return await DropAsync(subscription, pubsub, message, cancellationToken);
        }

        // The JSON tree is built only for routing rules with a match expression.
        var path = subscription.Route(
            () => cloudEvent ??= (JsonObject)JsonNode.Parse(body)!,
            (rule, e) => logger.LogDebug("Rule {Rule} not evaluated for {Id}: {Error}", rule, message.Id, e.Message));
        if (path is null)
        {
            logger.LogWarning("No route matched event {Id} of {Topic}; dropped", message.Id, message.Topic);
            return await DropAsync(subscription, pubsub, message, cancellationToken);
        }

        var outcome = Outcome.Success;
        try
        {
            await pubsub.Inbound.ExecuteAsync(async ct => outcome = await PostAsync(path, body, fields, message, pubsub.Spec.Name, ct), cancellationToken);
        }
        catch (Exception e) when (e is OperationFailedException or HttpRequestException or IOException or TimeoutException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            logger.LogWarning("Delivering {Id} of {Topic} to /{Path} failed: {Error}", message.Id, message.Topic, path.TrimStart('/'), e.Message);
            return await DeadLetterAsync(subscription, pubsub, message, e.Message, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        if (outcome == Outcome.Drop)
        {
            return await DropAsync(subscription, pubsub, message, cancellationToken);
        }

        return true;
    }

    /// <summary>True when the CloudEvent's <c>expiration</c> (set from ttlInSeconds) has passed: it is dropped, not delivered.</summary>
    private static bool IsExpired(CloudEventFields fields) =>
        fields.Expiration is { } expText
        && DateTimeOffset.TryParse(expText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiration)
        && expiration < DateTimeOffset.UtcNow;

    private enum Outcome
    {
        Success,
        Drop,
    }

    private async Task<Outcome> PostAsync(string path, byte[] body, CloudEventFields fields, StreamMessage message, string pubsubName, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.Route(path))
        {
            Content = AppChannel.CloudEventContent(body, CloudEventEnvelope.CloudEventsContentType),
        };

        foreach (var (key, value) in message.Metadata)
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        request.Headers.TryAddWithoutValidation("pubsubName", pubsubName);
        var parent = fields.TraceParent ?? fields.TraceId;
        request.Headers.Remove("traceparent");
        request.Headers.TryAddWithoutValidation("traceparent", TraceContext.ChildOf(parent));
        if (fields.TraceState is { Length: > 0 } state)
        {
            request.Headers.Remove("tracestate");
            request.Headers.TryAddWithoutValidation("tracestate", state);
        }

        using var response = await channel.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status == 404)
        {
            logger.LogWarning("App answered 404 for event {Id} of {Topic}; dropped", message.Id, message.Topic);
            return Outcome.Drop;
        }

        if (status is < 200 or > 299)
        {
            throw new OperationFailedException($"app answered {status}", httpStatus: status);
        }

        string? appStatus = null;
        // An empty 2xx answer (the common case) is success: no body to read or parse.
        var text = response.Content.Headers.ContentLength == 0 ? "" : await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            if (text.Length > 0 && JsonNode.Parse(text) is JsonObject answer)
            {
                appStatus = Text(answer["status"]);
            }
        }
        catch (JsonException)
        {
            // A body that is not JSON means success, as in daprd.
        }

        switch (appStatus?.ToUpperInvariant())
        {
            case null or "" or "SUCCESS":
                return Outcome.Success;
            case "DROP":
                logger.LogWarning("App asked to DROP event {Id} of {Topic}", message.Id, message.Topic);
                return Outcome.Drop;
            case "RETRY":
                throw new OperationFailedException("RETRY status returned from app while processing pub/sub event");
            default:
                throw new OperationFailedException($"unknown status returned from app while processing pub/sub event: {appStatus}");
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Dropped events are acknowledged; with a dead-letter topic they go there first.</summary>
    private async Task<bool> DropAsync(SubscriptionSpec subscription, PubSubEntry pubsub, StreamMessage message, CancellationToken cancellationToken)
    {
        if (subscription.DeadLetterTopic is null)
        {
            return true;
        }

        return await DeadLetterAsync(subscription, pubsub, message, "dropped", cancellationToken);
    }

    /// <summary>
    /// Publishes the original bytes and metadata to the dead-letter topic on the same pub/sub and
    /// acknowledges; without a dead-letter topic (or during shutdown) the entry stays pending.
    /// </summary>
    private async Task<bool> DeadLetterAsync(SubscriptionSpec subscription, PubSubEntry pubsub, StreamMessage message, string reason, CancellationToken cancellationToken)
    {
        if (subscription.DeadLetterTopic is not { } deadLetter || _shuttingDown)
        {
            return false;
        }

        if (!pubsub.IsAllowed(deadLetter, options.AppId, "publishingScopes"))
        {
            logger.LogError("Dead-letter topic {Topic} is not allowed for app {AppId}; entry {Id} stays pending", deadLetter, options.AppId, message.Id);
            return false;
        }

        // Detached from the delivery's (possibly expired) context, with daprd's 30 s bound.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await publisher.StoreAsync(pubsub, deadLetter, message.Data, Publisher.NullIfEmpty(message.Metadata), cts.Token);
            logger.LogWarning("Entry {Id} of {Topic} sent to dead-letter topic {DeadLetter} ({Reason})", message.Id, message.Topic, deadLetter, reason);
            return true;
        }
        catch (DaprApiException e)
        {
            logger.LogError("Dead-lettering entry {Id} of {Topic} failed: {Error}", message.Id, message.Topic, e.Message);
            return false;
        }
    }

    private static JsonObject RawPayloadEnvelope(StreamMessage message, SubscriptionSpec subscription)
    {
        var envelope = new JsonObject
        {
            ["data_base64"] = Convert.ToBase64String(message.Data),
            ["datacontenttype"] = "application/octet-stream",
            ["id"] = Guid.NewGuid().ToString(),
            ["pubsubname"] = subscription.PubsubName,
            ["source"] = CloudEventEnvelope.DefaultSource,
            ["specversion"] = "1.0",
            ["topic"] = message.Topic,
            ["traceid"] = message.Metadata.GetValueOrDefault("cloudevent.traceid") ?? "",
            ["traceparent"] = message.Metadata.GetValueOrDefault("cloudevent.traceparent") ?? "",
            ["tracestate"] = message.Metadata.GetValueOrDefault("cloudevent.tracestate") ?? "",
            ["type"] = CloudEventEnvelope.DefaultType,
        };
        return envelope;
    }
}
