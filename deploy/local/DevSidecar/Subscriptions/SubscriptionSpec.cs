using System.Text.Json;
using System.Text.Json.Nodes;
using Dcis.Crisis.DevSidecar.Resources;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>A routing rule: the first rule whose <see cref="Match"/> is true (or null = match-all) wins.</summary>
public sealed record RouteRule(CelExpression? Match, string Path);

/// <summary>
/// <c>bulkSubscribe</c> of a subscription (DAPR-CONTRACT.md §3.1, §3.2): entries are delivered in
/// batches of up to <see cref="MaxMessagesCount"/>, or what is waiting on each tick of a
/// <see cref="MaxAwaitDurationMs"/> ticker (RedisStreamsPubSub.BatchAsync). Zero or less means daprd's default.
/// </summary>
public sealed record BulkSubscribeSpec(bool Enabled, int MaxMessagesCount, int MaxAwaitDurationMs)
{
    /// <summary>daprd's defaults for a component without native bulk subscribe (pkg/runtime/pubsub/default_bulksub.go).</summary>
    public const int DefaultMaxMessagesCount = 100;

    public const int DefaultMaxAwaitDurationMs = 1000;

    public int EffectiveMaxMessagesCount => MaxMessagesCount > 0 ? MaxMessagesCount : DefaultMaxMessagesCount;

    public TimeSpan EffectiveMaxAwait => TimeSpan.FromMilliseconds(MaxAwaitDurationMs > 0 ? MaxAwaitDurationMs : DefaultMaxAwaitDurationMs);
}

/// <summary>One subscription, programmatic or declarative (DAPR-CONTRACT.md §3).</summary>
public sealed record SubscriptionSpec(
    string PubsubName,
    string Topic,
    IReadOnlyList<RouteRule> Rules,
    string? DeadLetterTopic,
    IReadOnlyDictionary<string, string> Metadata,
    string Type)
{
    /// <summary>The <c>bulkSubscribe</c> settings, or null when the subscription has none.</summary>
    public BulkSubscribeSpec? BulkSubscribe { get; init; }

    public bool RawPayload => Metadata.TryGetValue("rawPayload", out var v) && bool.TryParse(v, out var b) && b;

    /// <summary>The path of the first matching rule, or null when no rule matches.</summary>
    public string? Route(JsonObject cloudEvent, Action<string, Exception>? onError = null) => Route(() => cloudEvent, onError);

    /// <summary>
    /// The path of the first matching rule, or null when no rule matches; the event is parsed only
    /// when a rule with a match expression is reached (a plain route needs no parse).
    /// </summary>
    public string? Route(Func<JsonObject> cloudEvent, Action<string, Exception>? onError = null)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        Dictionary<string, JsonNode?>? vars = null;
        foreach (var rule in Rules)
        {
            if (rule.Match is null)
            {
                return rule.Path;
            }

            vars ??= new Dictionary<string, JsonNode?> { ["event"] = cloudEvent() };

            try
            {
                if (rule.Match.EvaluateBool(vars))
                {
                    return rule.Path;
                }
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
                // A rule that cannot be evaluated for this event (e.g. a missing field) does not match it.
                onError?.Invoke(rule.Match.Text, e);
            }
        }

        return null;
    }

    private static List<RouteRule> BuildRules(IEnumerable<(string? Match, string? Path)> rules, string? defaultPath, string? route)
    {
        var result = new List<RouteRule>();
        foreach (var (match, path) in rules)
        {
            result.Add(new RouteRule(string.IsNullOrWhiteSpace(match) ? null : CelExpression.Parse(match, "event"), path ?? ""));
        }

        var fallback = !string.IsNullOrEmpty(defaultPath) ? defaultPath : route;
        if (!string.IsNullOrEmpty(fallback))
        {
            result.Add(new RouteRule(null, fallback));
        }

        return result;
    }

    /// <summary>Parses the app's <c>GET /dapr/subscribe</c> answer (v1 and v2 shapes, keys case-insensitive).</summary>
    public static List<SubscriptionSpec> FromProgrammatic(string json, Action<string> warn)
    {
        var options = new JsonNodeOptions { PropertyNameCaseInsensitive = true };
        var array = JsonNode.Parse(json, options) as JsonArray ?? throw new FormatException("/dapr/subscribe did not return a JSON array");
        var result = new List<SubscriptionSpec>();
        foreach (var item in array.OfType<JsonObject>())
        {
            var pubsub = Str(item["pubsubname"]);
            var topic = Str(item["topic"]);
            var routes = item["routes"] as JsonObject;
            var rules = (routes?["rules"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(r => (Str(r["match"]), Str(r["path"])));
            var built = BuildRules(rules, Str(routes?["default"]), Str(item["route"]));
            if (built.Count == 0)
            {
                warn($"subscription to topic {topic} on pubsub {pubsub} has no route; dropped");
                continue;
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (item["metadata"] is JsonObject meta)
            {
                foreach (var (key, value) in meta)
                {
                    metadata[key] = Str(value) ?? "";
                }
            }

            result.Add(new SubscriptionSpec(pubsub ?? "", topic ?? "", built, NullIfEmpty(Str(item["deadLetterTopic"])), metadata, "PROGRAMMATIC")
            {
                BulkSubscribe = item["bulkSubscribe"] is JsonObject bulk
                    ? new BulkSubscribeSpec(Bool(Str(bulk["enabled"])), Int(Str(bulk["maxMessagesCount"])), Int(Str(bulk["maxAwaitDurationMs"])))
                    : null,
            });
        }

        return result;
    }

    /// <summary>Parses a <c>kind: Subscription</c> resource (dapr.io/v2alpha1, else the v1alpha1 shape).</summary>
    public static SubscriptionSpec FromDeclarative(Dictionary<string, object?> doc, string file)
    {
        var spec = doc.Map("spec") ?? throw new FormatException($"Subscription in {file} has no spec");
        var isV2 = doc.Str("apiVersion") == "dapr.io/v2alpha1";
        var routes = spec.Map("routes");
        var rules = isV2
            ? routes.List("rules").OfType<Dictionary<string, object?>>().Select(r => (r.Str("match"), r.Str("path")))
            : [];
        var built = BuildRules(rules, isV2 ? routes.Str("default") : null, isV2 ? null : spec.Str("route"));
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in spec.Map("metadata") ?? [])
        {
            metadata[key] = value as string ?? "";
        }

        var pubsub = spec.Str("pubsubname") ?? throw new FormatException($"Subscription in {file} has no spec.pubsubname");
        var topic = spec.Str("topic") ?? throw new FormatException($"Subscription in {file} has no spec.topic");
        if (built.Count == 0)
        {
            throw new FormatException($"Subscription to {topic} in {file} has no route");
        }

        var bulk = spec.Map("bulkSubscribe");
        return new SubscriptionSpec(pubsub, topic, built, NullIfEmpty(spec.Str("deadLetterTopic")), metadata, "DECLARATIVE")
        {
            BulkSubscribe = bulk is null
                ? null
                : new BulkSubscribeSpec(Bool(bulk.Str("enabled")), Int(bulk.Str("maxMessagesCount")), Int(bulk.Str("maxAwaitDurationMs"))),
        };
    }

    // JS SDK metadata values arrive JSON.stringify-ed; a JSON string value is taken as its text.
    private static string? Str(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static bool Bool(string? s) => bool.TryParse(s, out var b) && b;

    private static int Int(string? s) =>
        int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    public static readonly JsonSerializerOptions CaseInsensitive = new() { PropertyNameCaseInsensitive = true };
}
