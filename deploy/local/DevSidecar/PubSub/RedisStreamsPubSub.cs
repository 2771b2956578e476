using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using StackExchange.Redis;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>One entry read from a stream: the stored bytes and the publish metadata.</summary>
public sealed record StreamMessage(string Topic, string Id, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The <c>pubsub.redis</c> component in the layout of Dapr's own (DAPR-CONTRACT.md §6): stream key =
/// topic, fields <c>data</c> and <c>metadata</c>, consumer group = consumerID created at 0 with
/// MKSTREAM, XACK only after success, XPENDING/XCLAIM reclaim of entries idle past processingTimeout.
/// </summary>
public sealed class RedisStreamsPubSub : IAsyncDisposable
{
    private const int MaxAckBatch = 500;

    private readonly ConnectionMultiplexer _connection;
    private readonly ILogger _logger;
    private readonly List<ConnectionMultiplexer> _readers = [];

    private RedisStreamsPubSub(string name, RedisSettings settings, ConnectionMultiplexer connection, ILogger logger)
    {
        Name = name;
        Settings = settings;
        _connection = connection;
        _logger = logger;
    }

    public string Name { get; }
    public RedisSettings Settings { get; }

    public static async Task<RedisStreamsPubSub> ConnectAsync(string name, RedisSettings settings, ILogger logger)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(Configuration(settings, blockingReads: false));
        return new RedisStreamsPubSub(name, settings, connection, logger);
    }

    private static ConfigurationOptions Configuration(RedisSettings settings, bool blockingReads)
    {
        var options = ConfigurationOptions.Parse(settings.Host);
        options.Password = settings.Password;
        options.User = settings.Username;
        options.Ssl = settings.EnableTls;
        options.DefaultDatabase = settings.Database;
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = (int)settings.DialTimeout.TotalMilliseconds;
        options.ClientName = "dapr-dev-sidecar";
        // RESP2 replies (arrays, not RESP3 maps) are what the stream parsing below reads.
        options.Protocol = RedisProtocol.Resp2;
        if (blockingReads)
        {
            // The reader connection carries XREADGROUP BLOCK readTimeout; it must not time out first.
            options.AsyncTimeout = (int)(settings.ReadTimeout + TimeSpan.FromSeconds(10)).TotalMilliseconds;
            options.SyncTimeout = options.AsyncTimeout;
        }

        return options;
    }

    /// <summary>True when the server answers PING.</summary>
    public async Task<bool> PingAsync()
    {
        try
        {
            await _connection.GetDatabase(Settings.Database).PingAsync();
            return true;
        }
        catch (RedisException)
        {
            return false;
        }
    }

    /// <summary>XADD <c>topic</c> [MAXLEN ~ n] * data &lt;bytes&gt; [metadata &lt;json&gt;].</summary>
    public Task PublishAsync(string topic, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string>? metadata)
    {
        var db = _connection.GetDatabase(Settings.Database);
        var args = new List<object> { topic };
        if (Settings.MaxLenApprox > 0)
        {
            args.AddRange(["MAXLEN", "~", Settings.MaxLenApprox]);
        }

        // The envelope bytes are usually a whole array already: no copy then.
        var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
            && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : data.ToArray();
        args.AddRange(["*", "data", bytes]);
        if (metadata is not null)
        {
            args.AddRange(["metadata", JsonSerializer.Serialize(metadata)]);
        }

        return db.ExecuteAsync("XADD", args);
    }

    /// <summary>
    /// Runs the read, worker and reclaim loops of one subscription until <paramref name="stopReading"/>
    /// is cancelled, then lets in-flight handlers finish (they see <paramref name="abortHandlers"/>).
    /// The handler returns true to acknowledge the entry; false leaves it pending for redelivery.
    /// </summary>
    public Task SubscribeAsync(
        string topic,
        Func<StreamMessage, CancellationToken, Task<bool>> handler,
        CancellationToken stopReading,
        CancellationToken abortHandlers) =>
        RunAsync(topic, (queue, acks, abort) => Enumerable.Range(0, Math.Max(1, Settings.Concurrency))
            .Select(_ => Task.Run(() => WorkAsync(topic, queue, acks, handler, abort), CancellationToken.None))
            .ToList(), stopReading, abortHandlers);

    /// <summary>
    /// Bulk subscribe as daprd does it for a component without native bulk subscribe
    /// (pkg/runtime/pubsub/default_bulksub.go): entries read from the stream (new and reclaimed) are
    /// gathered into batches sent when they reach <paramref name="maxMessages"/> or on a ticker every
    /// <paramref name="maxAwait"/>, holding at most <c>concurrency</c> entries (see BatchAsync); the
    /// handler gets each batch and answers, per entry and in order, whether it may be acknowledged.
    /// </summary>
    public Task SubscribeBulkAsync(
        string topic,
        int maxMessages,
        TimeSpan maxAwait,
        Func<IReadOnlyList<StreamMessage>, CancellationToken, Task<IReadOnlyList<bool>>> handler,
        CancellationToken stopReading,
        CancellationToken abortHandlers) =>
        RunAsync(topic, (queue, acks, abort) => [Task.Run(() => BatchAsync(topic, queue, acks, Math.Max(1, maxMessages), maxAwait, handler, abort), CancellationToken.None)],
            stopReading, abortHandlers);

    private async Task RunAsync(
        string topic,
        Func<ChannelReader<StreamMessage>, ChannelWriter<string>, CancellationToken, List<Task>> startWorkers,
        CancellationToken stopReading,
        CancellationToken abortHandlers)
    {
        var group = Settings.ConsumerId;
        var db = _connection.GetDatabase(Settings.Database);
        await EnsureGroupAsync(db, topic, group, stopReading);

        var reader = await ConnectionMultiplexer.ConnectAsync(Configuration(Settings, blockingReads: true));
        lock (_readers)
        {
            _readers.Add(reader);
        }

        // AllowSynchronousContinuations here was measured (SidecarBench, interleaved A/B, 2 runs each): no
        // change in the subscriber's CPU or context switches per message, so the default stays.
        var queue = Channel.CreateBounded<StreamMessage>(Math.Max(1, Settings.QueueDepth));
        // Successes are acknowledged by one loop that sends every id waiting as one XACK (after success only).
        var acks = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var acker = Task.Run(() => AckLoopAsync(db, topic, group, acks.Reader, abortHandlers), CancellationToken.None);
        var workers = startWorkers(queue.Reader, acks.Writer, abortHandlers);
        var reclaim = Settings.ProcessingTimeout > TimeSpan.Zero && Settings.RedeliverInterval > TimeSpan.Zero
            ? Task.Run(() => ReclaimLoopAsync(db, topic, group, queue.Writer, stopReading), CancellationToken.None)
            : Task.CompletedTask;

        try
        {
            await ReadLoopAsync(reader.GetDatabase(Settings.Database), db, topic, group, queue.Writer, stopReading);
        }
        finally
        {
            await reclaim;
            queue.Writer.TryComplete();
            await Task.WhenAll(workers);
            acks.Writer.TryComplete();
            await acker;
        }
    }

    private async Task EnsureGroupAsync(IDatabase db, string topic, string group, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await db.ExecuteAsync("XGROUP", "CREATE", topic, group, "0", "MKSTREAM");
                return;
            }
            catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
                return;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                _logger.LogWarning("Redis unavailable while creating group {Group} on {Topic}: {Error}", group, topic, e.Message);
                await Task.Delay(500, cancellationToken);
            }
        }
    }

    private async Task ReadLoopAsync(IDatabase reader, IDatabase db, string topic, string group, ChannelWriter<StreamMessage> queue, CancellationToken stop)
    {
        var blockMs = ((long)Settings.ReadTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        while (!stop.IsCancellationRequested)
        {
            RedisResult result;
            try
            {
                result = await reader.ExecuteAsync("XREADGROUP", "GROUP", group, group, "COUNT", Settings.QueueDepth, "BLOCK", blockMs, "STREAMS", topic, ">")
                    .WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RedisServerException e) when (e.Message.Contains("NOGROUP", StringComparison.Ordinal))
            {
                await EnsureGroupAsync(db, topic, group, stop);
                continue;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
            {
                _logger.LogWarning("Reading {Topic} failed, retrying: {Error}", topic, e.Message);
                await DelayAsync(TimeSpan.FromMilliseconds(250), stop);
                continue;
            }

            foreach (var message in ParseStreams(result))
            {
                await queue.WriteAsync(message, CancellationToken.None);
            }
        }
    }

    private async Task WorkAsync(
        string topic, ChannelReader<StreamMessage> queue, ChannelWriter<string> acks,
        Func<StreamMessage, CancellationToken, Task<bool>> handler, CancellationToken abort)
    {
        await foreach (var message in queue.ReadAllAsync(CancellationToken.None))
        {
            bool ack;
            try
            {
                using var cts = ProcessingTimeoutSource(abort);
                ack = await handler(message, cts.Token);
            }
            catch (OperationCanceledException)
            {
                ack = false;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A handler bug must not kill the worker: the entry stays pending and is redelivered.
                _logger.LogError(e, "Handling entry {Id} of {Topic} failed", message.Id, topic);
                ack = false;
            }

            if (ack)
            {
                acks.TryWrite(message.Id);
            }
        }
    }

    /// <summary>
    /// daprd's default bulk subscriber over pubsub.redis, step for step: the component's <c>concurrency</c>
    /// workers each hand one entry to the batcher and block until its batch is answered, so a batch holds
    /// at most <c>concurrency</c> entries; a batch is sent when it reaches <paramref name="maxMessages"/>,
    /// else on a ticker every <paramref name="maxAwait"/> (a periodic ticker, not a timer per batch), one
    /// batch at a time. With <c>concurrency</c> below maxMessagesCount batches are therefore only sent by
    /// the ticker: at most <c>concurrency</c> entries per maxAwaitDurationMs, as with real daprd.
    /// </summary>
    private async Task BatchAsync(
        string topic, ChannelReader<StreamMessage> queue, ChannelWriter<string> acks, int maxMessages, TimeSpan maxAwait,
        Func<IReadOnlyList<StreamMessage>, CancellationToken, Task<IReadOnlyList<bool>>> handler, CancellationToken abort)
    {
        var held = Math.Min(maxMessages, Math.Max(1, Settings.Concurrency));
        using var ticker = new PeriodicTimer(maxAwait);
        var tick = ticker.WaitForNextTickAsync(CancellationToken.None).AsTask();
        Task<bool>? more = null;
        var batch = new List<StreamMessage>(held);
        while (true)
        {
            if (batch.Count < held)
            {
                more ??= queue.WaitToReadAsync(CancellationToken.None).AsTask();
            }

            // A full batch (concurrency reached, below maxMessagesCount) waits for the ticker alone.
            var done = more is null ? tick : await Task.WhenAny(more, tick);
            if (done == tick)
            {
                await tick;
                tick = ticker.WaitForNextTickAsync(CancellationToken.None).AsTask();
                if (batch.Count > 0)
                {
                    await HandleBatchAsync(topic, batch, acks, handler, abort);
                    batch = new List<StreamMessage>(held);
                }

                continue;
            }

            more = null;
            if (!await (Task<bool>)done)
            {
                // The read and reclaim loops stopped: the partial batch is still handed over (daprd flushes on shutdown).
                if (batch.Count > 0)
                {
                    await HandleBatchAsync(topic, batch, acks, handler, abort);
                }

                return;
            }

            while (batch.Count < held && queue.TryRead(out var message))
            {
                batch.Add(message);
            }

            if (batch.Count >= maxMessages)
            {
                await HandleBatchAsync(topic, batch, acks, handler, abort);
                batch = new List<StreamMessage>(held);
            }
        }
    }

    private async Task HandleBatchAsync(
        string topic, List<StreamMessage> batch, ChannelWriter<string> acks,
        Func<IReadOnlyList<StreamMessage>, CancellationToken, Task<IReadOnlyList<bool>>> handler, CancellationToken abort)
    {
        IReadOnlyList<bool> results;
        try
        {
            using var cts = ProcessingTimeoutSource(abort);
            results = await handler(batch, cts.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A handler bug must not kill the batcher: the entries stay pending and are redelivered.
            _logger.LogError(e, "Handling a batch of {Count} entries of {Topic} failed", batch.Count, topic);
            return;
        }

        for (var i = 0; i < batch.Count && i < results.Count; i++)
        {
            if (results[i])
            {
                acks.TryWrite(batch[i].Id);
            }
        }
    }

    /// <summary>daprd gives each delivery (a single entry, or a whole batch) a context bounded by processingTimeout.</summary>
    private CancellationTokenSource ProcessingTimeoutSource(CancellationToken abort)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(abort);
        if (Settings.ProcessingTimeout > TimeSpan.Zero)
        {
            cts.CancelAfter(Settings.ProcessingTimeout);
        }

        return cts;
    }

    private async Task AckLoopAsync(IDatabase db, string topic, string group, ChannelReader<string> acks, CancellationToken abort)
    {
        var args = new List<object>(MaxAckBatch + 2);
        while (await acks.WaitToReadAsync(CancellationToken.None))
        {
            args.Clear();
            args.Add(topic);
            args.Add(group);
            while (args.Count < MaxAckBatch + 2 && acks.TryRead(out var id))
            {
                args.Add(id);
            }

            await AckAsync(db, topic, args, abort);
        }
    }

    /// <summary>XACK topic group id...; retried while Redis restarts (the entries stay pending meanwhile).</summary>
    private async Task AckAsync(IDatabase db, string topic, List<object> args, CancellationToken abort)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await db.ExecuteAsync("XACK", args);
                return;
            }
            catch (Exception e) when ((e is RedisConnectionException or RedisTimeoutException) && attempt < 20 && !abort.IsCancellationRequested)
            {
                // Redis is restarting: the entries stay pending until acknowledged, so retry a while.
                _logger.LogWarning("XACK of {Count} entries on {Topic} failed, retrying: {Error}", args.Count - 2, topic, e.Message);
                await DelayAsync(TimeSpan.FromMilliseconds(500), abort);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                _logger.LogWarning("XACK of {Count} entries on {Topic} failed; they will be redelivered: {Error}", args.Count - 2, topic, e.Message);
                return;
            }
        }
    }

    private async Task ReclaimLoopAsync(IDatabase db, string topic, string group, ChannelWriter<StreamMessage> queue, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ReclaimAsync(db, topic, group, queue, stop);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
            {
                _logger.LogWarning("Reclaiming pending entries of {Topic} failed: {Error}", topic, e.Message);
            }

            if (!await DelayAsync(Settings.RedeliverInterval, stop))
            {
                return;
            }
        }
    }

    private async Task ReclaimAsync(IDatabase db, string topic, string group, ChannelWriter<StreamMessage> queue, CancellationToken stop)
    {
        var minIdle = (long)Settings.ProcessingTimeout.TotalMilliseconds;
        while (!stop.IsCancellationRequested)
        {
            var pending = (RedisResult[])(await db.ExecuteAsync("XPENDING", topic, group, "-", "+", Settings.QueueDepth))!;
            var ids = pending
                .Select(p => (RedisResult[])p!)
                .Where(p => (long)p[2] >= minIdle)
                .Select(p => (string)p[0]!)
                .ToList();
            if (ids.Count == 0)
            {
                return;
            }

            var args = new List<object> { topic, group, group, minIdle };
            args.AddRange(ids);
            var claimed = (RedisResult[])(await db.ExecuteAsync("XCLAIM", args))!;
            var messages = ParseEntries(topic, claimed).ToList();
            var claimedIds = messages.Select(m => m.Id).ToHashSet();
            foreach (var missing in ids.Where(id => !claimedIds.Contains(id)))
            {
                // The entry was trimmed or deleted: acknowledge it so it stops being pending.
                await db.ExecuteAsync("XACK", topic, group, missing);
            }

            foreach (var message in messages)
            {
                await queue.WriteAsync(message, stop);
            }

            if (messages.Count == 0)
            {
                return;
            }
        }
    }

    private static IEnumerable<StreamMessage> ParseStreams(RedisResult result)
    {
        if (result.IsNull)
        {
            yield break;
        }

        foreach (var stream in (RedisResult[])result!)
        {
            var parts = (RedisResult[])stream!;
            foreach (var message in ParseEntries((string)parts[0]!, (RedisResult[])parts[1]!))
            {
                yield return message;
            }
        }
    }

    private static IEnumerable<StreamMessage> ParseEntries(string topic, RedisResult[] entries)
    {
        foreach (var entry in entries)
        {
            if (entry.IsNull)
            {
                continue;
            }

            var parts = (RedisResult[])entry!;
            if (parts[1].IsNull)
            {
                continue;
            }

            var fields = (RedisResult[])parts[1]!;
            byte[] data = [];
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string)fields[i]!)
                {
                    case "data":
                        data = (byte[])fields[i + 1]!;
                        break;
                    case "metadata":
                        metadata = JsonSerializer.Deserialize<Dictionary<string, string>>((string)fields[i + 1]!) ?? [];
                        break;
                }
            }

            yield return new StreamMessage(topic, (string)parts[0]!, data, metadata);
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<ConnectionMultiplexer> readers;
        lock (_readers)
        {
            readers = [.. _readers];
        }

        foreach (var reader in readers)
        {
            await reader.CloseAsync(allowCommandsToComplete: false);
            reader.Dispose();
        }

        await _connection.CloseAsync();
        _connection.Dispose();
    }
}
