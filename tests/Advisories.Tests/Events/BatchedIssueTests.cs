using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Storage;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Tests.Events;

/// <summary>A host that writes an event's advisories two companies per transaction.</summary>
public sealed class SmallBatchFixture : IAsyncLifetime
{
    internal AdvisoriesTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string> { ["Advisories:IssueBatchSize"] = "2" });

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>One event concerning more companies than one transaction holds.</summary>
public class BatchedIssueTests(SmallBatchFixture fixture) : IClassFixture<SmallBatchFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    [Fact]
    public async Task WaveOverSeveralBatches_GivesEveryCompanyOneAdvisory_PushedToItsStream_EvenWhenRedelivered()
    {
        var companies = await RegisterWithSitesAsync("wave", 5, "KE");
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var watch = companies[^1].WatchAdvisories(new WatchAdvisoriesRequest(), cancellationToken: stop.Token);
        await watch.ResponseHeadersAsync;

        var e = TestEvents.LevelChanged("KE", 1, ThreatLevel.AvoidNonEssential);
        await _host.DeliverAsync(e);
        await _host.DeliverAsync(e);

        foreach (var client in companies)
        {
            var advisory = Assert.Single(await ListAsync(client));
            Assert.Equal(1, advisory.Sequence);
            Assert.Equal(e.EventId, advisory.CauseEventId);
        }

        var pushed = await NextAdvisoryAsync(watch, stop.Token);
        Assert.Equal(e.EventId, pushed.CauseEventId);
        Assert.Empty(await ProgressRowsAsync());
    }

    [Fact]
    public async Task WaveInterruptedAfterItsFirstBatch_ResumesOnRedelivery_WithoutASecondAdvisory()
    {
        var companies = await RegisterWithSitesAsync("resume", 5, "UG");
        var e = TestEvents.LevelChanged("UG", 1, ThreatLevel.DoNotTravel);

        // The third company's insert fails: the first batch (two companies) is committed, the rest is not.
        await using (var failing = await FailInsertsForAsync("resume-2"))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => _host.DeliverAsync(e));
            Assert.Single(await ListAsync(companies[0]));
            Assert.Single(await ListAsync(companies[1]));
            Assert.Empty(await ListAsync(companies[2]));
            Assert.Single(await ProgressRowsAsync());
        }

        await _host.DeliverAsync(e);

        foreach (var client in companies)
        {
            var advisory = Assert.Single(await ListAsync(client));
            Assert.Equal(e.EventId, advisory.CauseEventId);
            Assert.Equal(1, advisory.Sequence);
        }

        Assert.Empty(await ProgressRowsAsync());
    }

    [Fact]
    public async Task InterruptedWave_SupersededByANewerVersion_IsNotResumedOverIt()
    {
        var companies = await RegisterWithSitesAsync("superseded", 5, "TZ");
        var v1 = TestEvents.LevelChanged("TZ", 1, ThreatLevel.AvoidNonEssential, assessmentId: "TZ-wave");
        var v2 = TestEvents.LevelChanged("TZ", 2, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential, assessmentId: "TZ-wave");
        await using (var failing = await FailInsertsForAsync("superseded-2"))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => _host.DeliverAsync(v1));
        }

        await _host.DeliverAsync(v2);
        await _host.DeliverAsync(v1); // the interrupted older wave comes back

        // The first batch got v1 then v2; the others only v2: nobody's latest advisory is the older version.
        foreach (var (client, i) in companies.Select((c, i) => (c, i)))
        {
            var list = await ListAsync(client);
            Assert.Equal(2, list[0].SubjectVersion);
            Assert.Equal(i < 2 ? [2L, 1L] : [2L], list.Select(a => a.SubjectVersion));
            Assert.Equal(Enumerable.Range(1, list.Count).Reverse().Select(s => (long)s), list.Select(a => a.Sequence));
        }

        Assert.Empty(await ProgressRowsAsync());
    }

    private async Task<List<AdvisoriesService.AdvisoriesServiceClient>> RegisterWithSitesAsync(string prefix, int count, string country)
    {
        var clients = new List<AdvisoriesService.AdvisoriesServiceClient>();
        for (var i = 0; i < count; i++)
        {
            var client = await _host.RegisterAsync($"{prefix}-{i}");
            await AdvisoriesTestHost.AddSiteAsync(client, "Office", country);
            clients.Add(client);
        }

        return clients;
    }

    private static async Task<List<Advisory>> ListAsync(AdvisoriesService.AdvisoriesServiceClient client) =>
        [.. (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories];

    private static async Task<Advisory> NextAdvisoryAsync(AsyncServerStreamingCall<WatchAdvisoriesResponse> call, CancellationToken ct)
    {
        while (await call.ResponseStream.MoveNext(ct))
        {
            if (call.ResponseStream.Current.Advisory is { } advisory)
            {
                return advisory;
            }
        }

        throw new InvalidOperationException("stream ended");
    }

    private async Task<List<string>> ProgressRowsAsync()
    {
        await using var connection = await _host.Services.GetRequiredService<SqliteDatabase>().OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT event_id FROM issue_progress");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>A real failure in the middle of a wave: a SQLite trigger aborts inserts for one company until disposed.</summary>
    private async Task<IAsyncDisposable> FailInsertsForAsync(string companyId)
    {
        var db = _host.Services.GetRequiredService<SqliteDatabase>();
        var name = "fail_" + companyId.Replace('-', '_');
        await using (var connection = await db.OpenAsync(CancellationToken.None))
        await using (var create = connection.Command(
            $"CREATE TRIGGER {name} BEFORE INSERT ON advisories WHEN NEW.company_id = '{companyId}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))
        {
            await create.ExecuteNonQueryAsync();
        }

        return new DropTrigger(db, name);
    }

    private sealed class DropTrigger(SqliteDatabase db, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await using var drop = connection.Command($"DROP TRIGGER {name}");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
