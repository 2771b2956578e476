using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class WatchChangesFixture : IAsyncLifetime
{
    public ThreatLevelsFixture Inner { get; } = new()
    {
        Settings = new Dictionary<string, string> { ["ThreatLevels:HeartbeatSeconds"] = "0.3", ["ThreatLevels:MaxStreamsPerCaller"] = "3" },
    };

    public Task InitializeAsync() => Inner.InitializeAsync();

    public Task DisposeAsync() => Inner.DisposeAsync();
}

public sealed class WatchChangesTests(WatchChangesFixture fixture) : IClassFixture<WatchChangesFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static async Task<List<AssessmentChange>> ReadChangesAsync(IAsyncStreamReader<WatchChangesResponse> stream, int count)
    {
        var changes = new List<AssessmentChange>();
        using var cts = new CancellationTokenSource(Generous);
        while (changes.Count < count && await stream.MoveNext(cts.Token))
        {
            if (stream.Current.ItemCase == WatchChangesResponse.ItemOneofCase.Change)
            {
                changes.Add(stream.Current.Change);
            }
        }

        return changes;
    }

    [Fact]
    public async Task Resumed_Stream_Delivers_Exactly_The_Missed_Changes_Then_Live_Ones()
    {
        var analyst = fixture.Inner.Analyst();
        var viewer = fixture.Inner.Client(Roles.CrisisCellViewer, "dashboard");
        await Build.ApplyAsync(analyst, Build.Country("GE", ThreatLevel.Normal));
        await Build.ApplyAsync(analyst, Build.Country("GE", ThreatLevel.Increased, expectedVersion: 1));

        long cursor;
        using (var first = viewer.WatchChanges(new WatchChangesRequest { AfterSequence = 0, CountryCodes = { "GE" } }))
        {
            var seen = await ReadChangesAsync(first.ResponseStream, 2);
            Assert.Equal([1L, 2], seen.Select(c => c.Version));
            cursor = seen[^1].Sequence;
        }

        var missed = new List<long>();
        for (var v = 2; v < 5; v++)
        {
            missed.Add((await Build.ApplyAsync(analyst, Build.Country("GE", v % 2 == 0 ? ThreatLevel.AvoidNonEssential : ThreatLevel.Increased, expectedVersion: v))).Sequence);
        }

        using var resumed = viewer.WatchChanges(new WatchChangesRequest { AfterSequence = cursor, CountryCodes = { "GE" } });
        var replayed = await ReadChangesAsync(resumed.ResponseStream, 3);
        var live = (await Build.ApplyAsync(analyst, Build.Country("GE", ThreatLevel.Normal, expectedVersion: 5))).Sequence;
        var next = await ReadChangesAsync(resumed.ResponseStream, 1);

        Assert.Equal(missed, replayed.Select(c => c.Sequence));
        Assert.Equal([3L, 4, 5], replayed.Select(c => c.Version));
        Assert.Equal(live, Assert.Single(next).Sequence);
    }

    [Fact]
    public async Task Quiet_Stream_Gets_Heartbeats()
    {
        var viewer = fixture.Inner.Client(Roles.CompanySecurity, "company-system");
        using var call = viewer.WatchChanges(new WatchChangesRequest { AfterSequence = long.MaxValue / 2 });
        using var cts = new CancellationTokenSource(Generous);

        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(WatchChangesResponse.ItemOneofCase.Heartbeat, call.ResponseStream.Current.ItemCase);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(WatchChangesResponse.ItemOneofCase.Heartbeat, call.ResponseStream.Current.ItemCase);
    }

    [Fact]
    public async Task Too_Many_Concurrent_Streams_Per_Caller_Is_ResourceExhausted()
    {
        var viewer = fixture.Inner.Client(Roles.CrisisCellViewer, "greedy");
        var open = new List<AsyncServerStreamingCall<WatchChangesResponse>>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var call = viewer.WatchChanges(new WatchChangesRequest { AfterSequence = long.MaxValue / 2 });
                open.Add(call);
                using var cts = new CancellationTokenSource(Generous);
                Assert.True(await call.ResponseStream.MoveNext(cts.Token)); // first heartbeat: the stream holds its slot
            }

            using var extra = viewer.WatchChanges(new WatchChangesRequest());
            var ex = await Assert.ThrowsAsync<RpcException>(() => extra.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

            var other = fixture.Inner.Client(Roles.CrisisCellViewer, "someone-else");
            using var fine = other.WatchChanges(new WatchChangesRequest { AfterSequence = long.MaxValue / 2 });
            using var cts2 = new CancellationTokenSource(Generous);
            Assert.True(await fine.ResponseStream.MoveNext(cts2.Token));
        }
        finally
        {
            foreach (var call in open)
            {
                call.Dispose();
            }
        }
    }

    [Fact]
    public async Task Closed_Streams_Free_Their_Slots()
    {
        var viewer = fixture.Inner.Client(Roles.CrisisCellViewer, "reconnector");

        // Twice the bound, one after the other: each must eventually be accepted once the previous one is gone
        // (the server notices a client's cancellation asynchronously, hence the polling).
        for (var round = 0; round < 6; round++)
        {
            await Testing.Eventually.TrueAsync(async () =>
            {
                using var call = viewer.WatchChanges(new WatchChangesRequest { AfterSequence = long.MaxValue / 2 });
                try
                {
                    using var cts = new CancellationTokenSource(Generous);
                    return await call.ResponseStream.MoveNext(cts.Token);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    return false;
                }
            });
        }
    }
}
