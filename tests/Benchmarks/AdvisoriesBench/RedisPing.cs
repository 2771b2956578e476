using System.Diagnostics;
using StackExchange.Redis;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>
/// The raw Redis publish -> consume round trip the target is set against: PUBLISH on one
/// connection, the subscriber's handler on another, one message in flight at a time. Kept open so
/// that B can interleave samples with its own changes (the same moments, the same machine load).
/// </summary>
internal sealed class RedisPing : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _producer;
    private readonly ConnectionMultiplexer _consumer;
    private readonly RedisChannel _channel = RedisChannel.Literal("bench-roundtrip");
    private TaskCompletionSource<long>? _pending;
    private long _sent;

    private RedisPing(ConnectionMultiplexer producer, ConnectionMultiplexer consumer)
    {
        _producer = producer;
        _consumer = consumer;
    }

    public static async Task<RedisPing> StartAsync(string endPoint)
    {
        var ping = new RedisPing(await ConnectionMultiplexer.ConnectAsync(endPoint), await ConnectionMultiplexer.ConnectAsync(endPoint));
        await ping._consumer.GetSubscriber().SubscribeAsync(ping._channel, (_, _) => Volatile.Read(ref ping._pending)?.TrySetResult(Stopwatch.GetTimestamp()));
        for (var i = 0; i < 100; i++)
        {
            await ping.RoundTripAsync(); // warm-up, not returned
        }

        return ping;
    }

    /// <summary>One PUBLISH -> handler round trip, in ms.</summary>
    public async Task<double> RoundTripAsync()
    {
        var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _pending, tcs);
        var start = Stopwatch.GetTimestamp();
        await _producer.GetDatabase().PublishAsync(_channel, ++_sent);
        var end = await tcs.Task;
        return (end - start) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary><paramref name="n"/> round trips, one after another, each after <paramref name="idleBefore"/> of nothing if given.</summary>
    public Task<List<double>> RoundTripsAsync(int n, TimeSpan idleBefore = default) => RoundTrips.RepeatAsync(RoundTripAsync, n, idleBefore);

    public async ValueTask DisposeAsync()
    {
        await _producer.DisposeAsync();
        await _consumer.DisposeAsync();
    }
}
