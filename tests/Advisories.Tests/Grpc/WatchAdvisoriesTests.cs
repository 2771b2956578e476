using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Tests.Grpc;

public class WatchAdvisoriesTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    private static async Task<Advisory> NextAdvisoryAsync(IAsyncStreamReader<WatchAdvisoriesResponse> stream, CancellationToken ct)
    {
        while (await stream.MoveNext(ct))
        {
            if (stream.Current.Advisory is { } advisory)
            {
                return advisory;
            }
        }

        throw new InvalidOperationException("stream ended");
    }

    [Fact]
    public async Task Watch_SendsTheBacklog_ThenLiveAdvisories()
    {
        var client = await _host.RegisterAsync("watch-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "MR");
        await _host.DeliverAsync(TestEvents.LevelChanged("MR", 1, ThreatLevel.Increased, assessmentId: "MR-w"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var call = client.WatchAdvisories(new WatchAdvisoriesRequest(), cancellationToken: timeout.Token);
        Assert.Equal(1, (await NextAdvisoryAsync(call.ResponseStream, timeout.Token)).Sequence);

        await _host.DeliverAsync(TestEvents.LevelChanged("MR", 2, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "MR-w"));
        var live = await NextAdvisoryAsync(call.ResponseStream, timeout.Token);
        Assert.Equal(2, live.Sequence);
        Assert.Equal(ThreatLevel.AvoidNonEssential, live.NewLevel);
    }

    [Fact]
    public async Task Reconnecting_WithTheCursor_MissesNothing_AndRepeatsNothing()
    {
        var client = await _host.RegisterAsync("resume-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "SO");
        await _host.DeliverAsync(TestEvents.LevelChanged("SO", 1, ThreatLevel.Increased, assessmentId: "SO-r"));
        long cursor;
        using (var first = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (var call = client.WatchAdvisories(new WatchAdvisoriesRequest(), cancellationToken: first.Token))
        {
            cursor = (await NextAdvisoryAsync(call.ResponseStream, first.Token)).Sequence;
        }

        // Disconnected: two more advisories are issued meanwhile.
        await _host.DeliverAsync(TestEvents.LevelChanged("SO", 2, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "SO-r"));
        await _host.DeliverAsync(TestEvents.LevelChanged("SO", 3, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential, assessmentId: "SO-r"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var resumed = client.WatchAdvisories(new WatchAdvisoriesRequest { AfterSequence = cursor }, cancellationToken: timeout.Token);
        var a = await NextAdvisoryAsync(resumed.ResponseStream, timeout.Token);
        var b = await NextAdvisoryAsync(resumed.ResponseStream, timeout.Token);
        Assert.Equal([2L, 3L], new[] { a.Sequence, b.Sequence });
        Assert.Equal(ThreatLevel.DoNotTravel, b.NewLevel);
    }

    [Fact]
    public async Task IdleStream_ReceivesHeartbeats_WithTheLatestSequence()
    {
        var client = await _host.RegisterAsync("heartbeat-co");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = client.WatchAdvisories(new WatchAdvisoriesRequest(), cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.NotNull(call.ResponseStream.Current.Heartbeat);
        Assert.Equal(0, call.ResponseStream.Current.Heartbeat.LatestSequence);
    }
}
