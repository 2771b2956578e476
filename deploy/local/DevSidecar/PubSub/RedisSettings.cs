using System.Globalization;
using Dcis.Crisis.DevSidecar.Resources;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>The <c>pubsub.redis</c> metadata with the defaults of Dapr's code (DAPR-CONTRACT.md §5.2).</summary>
public sealed record RedisSettings
{
    public required string Host { get; init; }
    public string? Password { get; init; }
    public string? Username { get; init; }
    public bool EnableTls { get; init; }
    public int Database { get; init; }
    public required string ConsumerId { get; init; }
    public TimeSpan ProcessingTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan RedeliverInterval { get; init; } = TimeSpan.FromSeconds(15);
    public int QueueDepth { get; init; } = 100;
    public int Concurrency { get; init; } = 10;
    public long MaxLenApprox { get; init; }
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public static RedisSettings From(IReadOnlyDictionary<string, string> metadata, string appId)
    {
        string? Get(string key) => metadata.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        int Int(string key, int fallback) => Get(key) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        TimeSpan Duration(string key, TimeSpan fallback) => Get(key) is { } v ? GoDuration.Parse(v) : fallback;

        var host = Get("redisHost") ?? throw new InvalidOperationException("pubsub.redis: redisHost is required");
        if (!host.Contains(':', StringComparison.Ordinal))
        {
            host += ":" + (Get("redisPort") ?? "6379");
        }

        if (Get("redisType") is { } type && type != "node")
        {
            throw new InvalidOperationException($"pubsub.redis: redisType {type} is not supported by the dev sidecar");
        }

        return new RedisSettings
        {
            Host = host,
            Password = Get("redisPassword"),
            Username = Get("redisUsername"),
            EnableTls = Get("enableTLS") is { } tls && bool.Parse(tls),
            Database = Int("redisDB", 0),
            ConsumerId = Get("consumerID") ?? appId,
            ProcessingTimeout = Duration("processingTimeout", TimeSpan.FromSeconds(60)),
            RedeliverInterval = Duration("redeliverInterval", TimeSpan.FromSeconds(15)),
            QueueDepth = Int("queueDepth", 100),
            Concurrency = Int("concurrency", 10),
            MaxLenApprox = Get("maxLenApprox") is { } max ? long.Parse(max, CultureInfo.InvariantCulture) : 0,
            ReadTimeout = Duration("readTimeout", TimeSpan.FromSeconds(3)),
            DialTimeout = Duration("dialTimeout", TimeSpan.FromSeconds(5)),
        };
    }
}
