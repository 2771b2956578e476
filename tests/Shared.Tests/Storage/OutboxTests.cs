using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dcis.Crisis.Shared.Tests.Storage;

/// <summary>Records what would have gone to the sidecar; can be told to fail like a sidecar that is down.</summary>
internal sealed class RecordingPublisher : IEventPublisher
{
    private readonly List<OutgoingEvent> _published = [];
    private readonly object _gate = new();

    public bool Failing { get; set; }

    public List<int> CallSizes { get; } = [];

    public IReadOnlyList<OutgoingEvent> Published
    {
        get
        {
            lock (_gate)
            {
                return [.. _published];
            }
        }
    }

    public Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new HttpRequestException("sidecar unavailable");
        }

        lock (_gate)
        {
            _published.AddRange(events);
            CallSizes.Add(events.Count);
        }

        return Task.CompletedTask;
    }
}

public sealed class OutboxTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SqliteDatabase _db;

    public OutboxTests()
    {
        _db = new SqliteDatabase(Path.Combine(_dir.Path, "svc.db"));
    }

    public void Dispose() => _dir.Dispose();

    private static CrisisClosed Closed(string id) => new() { EventId = id, CrisisId = "crisis-" + id, Version = 1, ClosedBy = "ana" };

    private async Task CommitEventsAsync(params string[] ids)
    {
        await _db.MigrateAsync(Outbox.Schema + "CREATE TABLE IF NOT EXISTS crises(id TEXT PRIMARY KEY);", CancellationToken.None);
        await using var connection = await _db.OpenAsync(CancellationToken.None);
        await using var tx = connection.BeginTransaction();
        foreach (var id in ids)
        {
            await using var insert = connection.Command("INSERT INTO crises(id) VALUES ($id)", tx, ("$id", id));
            await insert.ExecuteNonQueryAsync();
            await Outbox.AddAsync(tx, Topics.CrisisClosed, id, Closed(id), CancellationToken.None);
        }

        await tx.CommitAsync();
    }

    private OutboxRelay Relay(IEventPublisher publisher, OutboxSignal signal, TimeSpan? poll = null, long maxBatchBytes = 3 * 1024 * 1024, TimeSpan linger = default) =>
        new(_db, publisher, signal, NullLogger<OutboxRelay>.Instance, new OutboxRelayOptions
        {
            PollInterval = poll ?? TimeSpan.FromHours(1), MaxBatchBytes = maxBatchBytes, Linger = linger, MaxLinger = TimeSpan.FromSeconds(30),
        });

    [Fact]
    public async Task Batches_Are_Capped_By_Size_So_A_Bulk_Publish_Stays_Under_The_Sidecar_Limit()
    {
        await CommitEventsAsync("a", "b", "c");
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        // Each event's JSON is ~60 characters: a 100-character cap allows one event per publish call.
        var published = await Relay(publisher, signal, maxBatchBytes: 100).PublishPendingAsync(CancellationToken.None);

        Assert.Equal(3, published);
        Assert.Equal([1, 1, 1], publisher.CallSizes.ToArray());
    }

    [Fact]
    public async Task Crash_Between_Commit_And_Publish_Loses_No_Event()
    {
        // The process that committed died before its relay ran: nothing was published.
        await CommitEventsAsync("a", "b", "c");

        // After restart a new relay finds the committed rows and publishes them, in order.
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        var published = await Relay(publisher, signal).PublishPendingAsync(CancellationToken.None);

        Assert.Equal(3, published);
        Assert.Equal(["a", "b", "c"], publisher.Published.Select(e => e.EventId).ToArray());
    }

    [Fact]
    public async Task Published_Rows_Are_Not_Published_Again()
    {
        await CommitEventsAsync("a");
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        var relay = Relay(publisher, signal);
        await relay.PublishPendingAsync(CancellationToken.None);

        Assert.Equal(0, await relay.PublishPendingAsync(CancellationToken.None));
        Assert.Single(publisher.Published);
    }

    [Fact]
    public async Task Event_Carries_Proto_Json_And_Full_Type_Name()
    {
        await CommitEventsAsync("a");
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        await Relay(publisher, signal).PublishPendingAsync(CancellationToken.None);

        var e = Assert.Single(publisher.Published);
        Assert.Equal("dcis.crisis.events.v1.CrisisClosed", e.Type);
        Assert.Equal("crisis-a", ProtoJson.Parse<CrisisClosed>(e.JsonData).CrisisId);
    }

    [Fact]
    public async Task Relayed_Data_Is_The_Stored_Text_As_Utf8_Accents_And_Other_Scripts_Included()
    {
        // The relay hands over the column's bytes as they are stored, not a decoded string.
        const string id = "crise-Mopti-é-ç-日本-🚨";
        await CommitEventsAsync(id);
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        await Relay(publisher, signal).PublishPendingAsync(CancellationToken.None);

        var e = Assert.Single(publisher.Published);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(ProtoJson.Format(Closed(id))), e.Utf8Data.ToArray());
        Assert.Equal(Closed(id).CrisisId, ProtoJson.Parse<CrisisClosed>(e.JsonData).CrisisId);
    }

    [Fact]
    public async Task Failed_Publish_Keeps_Rows_Until_The_Sidecar_Is_Back()
    {
        await CommitEventsAsync("a");
        var publisher = new RecordingPublisher { Failing = true };
        using var signal = new OutboxSignal();
        var relay = Relay(publisher, signal);
        await Assert.ThrowsAsync<HttpRequestException>(() => relay.PublishPendingAsync(CancellationToken.None));

        publisher.Failing = false;
        Assert.Equal(1, await relay.PublishPendingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Relay_Publishes_A_Commit_Without_Waiting_For_Its_Poll_Interval()
    {
        await _db.MigrateAsync(Outbox.Schema, CancellationToken.None);
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        // Poll interval of an hour: only the commit signal can make it publish within the test.
        using var relay = Relay(publisher, signal, TimeSpan.FromHours(1));
        await relay.StartAsync(CancellationToken.None);
        await Task.Delay(200);

        await CommitEventsAsync("late");
        new Outbox(signal).NotifyCommitted();

        await Eventually.TrueAsync(() => publisher.Published.Any(e => e.EventId == "late"));
        await relay.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_Row_Committed_While_A_Batch_Is_Published_Stays_Unsent_For_The_Next_Pass()
    {
        await CommitEventsAsync("a", "b");
        var publisher = new CommittingPublisher(() => CommitEventsAsync("during"));
        using var signal = new OutboxSignal();
        var relay = Relay(publisher, signal);

        Assert.Equal(2, await relay.PublishPendingAsync(CancellationToken.None));
        Assert.Equal(["a", "b"], publisher.Published.Select(e => e.EventId).ToArray());

        // Marking the batch sent left the row that was committed meanwhile alone.
        Assert.Equal(1, await relay.PublishPendingAsync(CancellationToken.None));
        Assert.Equal(["a", "b", "during"], publisher.Published.Select(e => e.EventId).ToArray());
    }

    [Fact]
    public async Task With_A_Linger_A_Burst_Of_Commits_Goes_Out_In_One_Publish()
    {
        await _db.MigrateAsync(Outbox.Schema, CancellationToken.None);
        var publisher = new RecordingPublisher();
        using var signal = new OutboxSignal();
        var outbox = new Outbox(signal);
        using var relay = Relay(publisher, signal, linger: TimeSpan.FromSeconds(2));
        await relay.StartAsync(CancellationToken.None);
        await Task.Delay(200);

        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            await CommitEventsAsync(id);
            outbox.NotifyCommitted();
        }

        await Eventually.TrueAsync(() => publisher.Published.Count == 4, TimeSpan.FromSeconds(30));
        Assert.Equal([4], publisher.CallSizes.ToArray());
        await relay.StopAsync(CancellationToken.None);
    }

    /// <summary>A publisher during whose call another transaction commits an event (a request handler running beside the relay).</summary>
    private sealed class CommittingPublisher(Func<Task> commit) : IEventPublisher
    {
        private bool _committed;

        public List<OutgoingEvent> Published { get; } = [];

        public async Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
        {
            Published.AddRange(events);
            if (!_committed)
            {
                _committed = true;
                await commit();
            }
        }
    }
}
