using System.Globalization;
using Dcis.Crisis.DevSidecar.Subscriptions;

namespace Dcis.Crisis.DevSidecar.Resources;

/// <summary>A loaded <c>Component</c> resource.</summary>
public sealed record ComponentSpec(string Name, string Type, string Version, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<string> Scopes);

/// <summary>Everything read from the <c>--resources-path</c> directories for one app.</summary>
public sealed class ResourceSet
{
    public List<ComponentSpec> PubSubs { get; } = [];
    public List<SubscriptionSpec> Subscriptions { get; } = [];
    public List<Dictionary<string, object?>> ResiliencyDocuments { get; } = [];

    /// <summary>
    /// Reads every YAML file of the directories, keeps the pub/sub components, Subscription and
    /// Resiliency resources scoped to <paramref name="appId"/>, and skips anything else with a log line.
    /// </summary>
    public static ResourceSet Load(IEnumerable<string> paths, string appId, ILogger logger)
    {
        var set = new ResourceSet();
        foreach (var dir in paths)
        {
            if (!Directory.Exists(dir))
            {
                logger.LogWarning("Resources path {Path} does not exist", dir);
                continue;
            }

            foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                if (!file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) && !file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                {
                    logger.LogWarning("Skipping non-YAML resource file {File}", file);
                    continue;
                }

                foreach (var doc in YamlTree.LoadDocuments(File.ReadAllText(file)))
                {
                    set.Add(doc, file, appId, logger);
                }
            }
        }

        return set;
    }

    private void Add(Dictionary<string, object?> doc, string file, string appId, ILogger logger)
    {
        var kind = doc.Str("kind");
        var name = doc.Map("metadata").Str("name") ?? "";
        var scopes = doc.List("scopes").OfType<string>().ToList();
        if (scopes.Count > 0 && !scopes.Contains(appId))
        {
            logger.LogInformation("{Kind} {Name} is not scoped to app {AppId}; skipped", kind, name, appId);
            return;
        }

        switch (kind)
        {
            case "Component":
                var spec = doc.Map("spec");
                var type = spec.Str("type") ?? "";
                if (!type.StartsWith("pubsub.", StringComparison.Ordinal))
                {
                    logger.LogWarning("Component {Name} of type {Type} is not implemented by the dev sidecar; skipped", name, type);
                    return;
                }

                if (type != "pubsub.redis")
                {
                    throw new InvalidOperationException($"Component {name}: type {type} is not supported by the dev sidecar (only pubsub.redis).");
                }

                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var item in spec.List("metadata").OfType<Dictionary<string, object?>>())
                {
                    var key = item.Str("name");
                    if (key is null)
                    {
                        continue;
                    }

                    if (item.Map("secretKeyRef") is not null)
                    {
                        throw new InvalidOperationException($"Component {name}: secretKeyRef ({key}) is not supported by the dev sidecar.");
                    }

                    metadata[key] = item.Str("value") ?? "";
                }

                PubSubs.Add(new ComponentSpec(name, type, spec.Str("version") ?? "v1", metadata, scopes));
                break;
            case "Subscription":
                Subscriptions.Add(SubscriptionSpec.FromDeclarative(doc, file));
                break;
            case "Resiliency":
                ResiliencyDocuments.Add(doc);
                break;
            case "Configuration":
                break;
            default:
                logger.LogWarning("Resource {Kind} {Name} in {File} is not implemented by the dev sidecar; skipped", kind, name, file);
                break;
        }
    }

    /// <summary>
    /// Resolves the policy of one pub/sub component in one direction ("inbound" or "outbound"):
    /// a named target policy, else the Default… policies in Dapr's order of specificity.
    /// </summary>
    public ResiliencyPolicy ResolvePolicy(string component, string direction)
    {
        var dir = direction == "inbound" ? "Inbound" : "Outbound";
        string[] defaults(string kind) =>
        [
            $"DefaultPubsubComponent{dir}{kind}Policy",
            $"DefaultComponent{dir}{kind}Policy",
            $"DefaultComponent{kind}Policy",
            $"Default{kind}Policy",
        ];

        TimeSpan? timeout = null;
        RetryPolicy? retry = null;
        CircuitBreaker? breaker = null;
        foreach (var doc in ResiliencyDocuments)
        {
            var spec = doc.Map("spec");
            var policies = spec.Map("policies");
            var target = spec.Map("targets").Map("components").Map(component).Map(direction);
            var timeouts = policies.Map("timeouts");
            var retries = policies.Map("retries");
            var breakers = policies.Map("circuitBreakers");

            string? Pick(string key, Dictionary<string, object?>? pool, string kind) =>
                target.Str(key) ?? defaults(kind).FirstOrDefault(n => pool?.ContainsKey(n) == true);

            if (timeout is null && Pick("timeout", timeouts, "Timeout") is { } timeoutName)
            {
                timeout = GoDuration.Parse(timeouts.Str(timeoutName) ?? throw Missing("timeout", timeoutName));
            }

            if (retry is null && Pick("retry", retries, "Retry") is { } retryName)
            {
                var r = retries.Map(retryName) ?? throw Missing("retry", retryName);
                retry = new RetryPolicy(
                    Exponential: (r.Str("policy") ?? "constant") == "exponential",
                    Duration: GoDuration.Parse(r.Str("duration") ?? "5s"),
                    MaxInterval: GoDuration.Parse(r.Str("maxInterval") ?? "60s"),
                    MaxRetries: int.Parse(r.Str("maxRetries") ?? "-1", CultureInfo.InvariantCulture),
                    HttpStatusCodes: r.Map("matching").Str("httpStatusCodes"));
            }

            if (breaker is null && Pick("circuitBreaker", breakers, "CircuitBreaker") is { } breakerName)
            {
                var b = breakers.Map(breakerName) ?? throw Missing("circuitBreaker", breakerName);
                breaker = new CircuitBreaker(
                    breakerName,
                    int.Parse(b.Str("maxRequests") ?? "1", CultureInfo.InvariantCulture),
                    GoDuration.Parse(b.Str("interval") ?? "0s"),
                    GoDuration.Parse(b.Str("timeout") ?? "60s"),
                    CelExpression.Parse(b.Str("trip") ?? "consecutiveFailures > 5", "consecutiveFailures", "requests", "totalFailures"));
            }
        }

        return timeout is null && retry is null && breaker is null ? ResiliencyPolicy.None : new ResiliencyPolicy(timeout, retry, breaker);
    }

    private static InvalidOperationException Missing(string kind, string name) =>
        new($"Resiliency: the {kind} policy '{name}' named by a target is not defined.");
}
