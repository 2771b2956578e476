using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Dashboard.Tests.Storage;

/// <summary>The read models, driven through the real subscription endpoints of a running dashboard.</summary>
public sealed class ReadModelTests : IAsyncLifetime
{
    private const string Email = "jeanne.martin@example.org";
    private const string Phone = "+33612345678";
    private const string PersonName = "Jeanne Martin";
    private ServiceHost _host = null!;

    private Uri Callbacks => _host.HttpAddress;

    public async Task InitializeAsync() => _host = await DashboardFixture.StartDashboardAsync(FreePort.Next());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Schema_Has_No_Personal_Data_Columns()
    {
        var forbidden = new[]
        {
            "name", "first_name", "last_name", "full_name", "email", "e_mail", "phone", "mobile", "msisdn", "address", "addresses",
            "recipient_id", "registrant_id", "company_id", "author", "declared_by", "closed_by", "approved_by", "proposed_by",
            "emergency_contact", "birth_date", "date_of_birth", "passport", "reply_code", "subject", "body",
        };
        var columns = new List<string>();
        await using var connection = await Database().OpenAsync(CancellationToken.None);
        var tables = new List<string>();
        await using (var list = connection.Command("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            await using var info = connection.Command($"SELECT name FROM pragma_table_info('{table}')");
            await using var reader = await info.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                columns.Add(table + "." + reader.GetString(0));
            }
        }

        Assert.Contains("delivery.recipient_ref", columns);
        Assert.DoesNotContain(columns, c => forbidden.Contains(c.Split('.')[1], StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Events_Carrying_Personal_Data_Leave_None_In_The_Database_Files()
    {
        var requested = new NotificationRequested
        {
            EventId = Guid.NewGuid().ToString(), Source = "consular", SourceAlertId = "alert-pd", AlertVersion = 1,
            Recipients =
            {
                new Recipient
                {
                    RecipientId = "reg-" + PersonName.Replace(' ', '-'), Language = Language.Fr, ReplyCode = "R7",
                    Addresses = { new ChannelAddress { Channel = Channel.Email, Address = Email }, new ChannelAddress { Channel = Channel.Sms, Address = Phone } },
                },
            },
            Messages = { new LocalizedMessage { Language = Language.Fr, Subject = "Alerte", Body = "Bonjour " + PersonName } },
        };
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationRequested, requested);
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.DeadLetter(Topics.NotificationRequested), requested, route: Topics.DeadLetter(Topics.NotificationRequested));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged,
            Events.Statuses("alert-pd", DeliveryStatus.Delivered, "reg-" + PersonName.Replace(' ', '-')));

        var bytes = await ReadAllDatabaseBytesAsync();
        foreach (var secret in new[] { Email, Phone, PersonName, PersonName.Replace(' ', '-') })
        {
            Assert.DoesNotContain(secret, bytes, StringComparison.Ordinal);
        }

        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM dead_letter WHERE topic = 'notification-requested' AND payload IS NULL"));
        Assert.Equal(1L, await ScalarAsync("SELECT recipient_count FROM notification_batch WHERE source_alert_id = 'alert-pd'"));
    }

    [Fact]
    public async Task Older_Level_Redelivered_Late_Never_Overwrites_A_Newer_One()
    {
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ThreatLevelChanged, Events.Level("SD", ThreatLevel.DoNotTravel, sequence: 20));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ThreatLevelChanged, Events.Level("SD", ThreatLevel.Increased, sequence: 10));

        Assert.Equal((long)ThreatLevel.DoNotTravel, await ScalarAsync("SELECT level FROM country_level WHERE country_code = 'SD'"));
        Assert.Equal(2L, await ScalarAsync("SELECT count(*) FROM level_history WHERE country_code = 'SD'"));
    }

    [Fact]
    public async Task A_Retired_Zone_Leaves_The_Map_And_A_Late_Older_Change_Does_Not_Bring_It_Back()
    {
        ThreatLevelChanged Zone(long version, ThreatLevel level, bool retired)
        {
            var e = Events.Level("NE", level, sequence: 500 + version);
            e.AssessmentId = "NE/zone/tillaberi";
            e.Version = version;
            e.Area = new Area { CountryCode = "NE", ZoneName = "Tillabéri", SubdivisionCodes = { "NE-6" } };
            e.CountryLevel = ThreatLevel.AvoidNonEssential;
            e.ZoneRetired = retired;
            return e;
        }

        var queries = _host.App.Services.GetRequiredService<ReadModelQueries>();
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ThreatLevelChanged, Zone(1, ThreatLevel.DoNotTravel, retired: false));
        Assert.Equal(["NE/zone/tillaberi"], (await queries.MapAsync(default)).Zones.Select(z => z.AssessmentId));

        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ThreatLevelChanged, Zone(2, ThreatLevel.AvoidNonEssential, retired: true));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ThreatLevelChanged, Zone(1, ThreatLevel.DoNotTravel, retired: false));

        Assert.DoesNotContain((await queries.MapAsync(default)).Zones, z => z.Country == "NE");
        Assert.Empty((await queries.CountryAsync("NE", default)).Zones);
        Assert.Equal((long)ThreatLevel.AvoidNonEssential, await ScalarAsync("SELECT level FROM country_level WHERE country_code = 'NE'"));
    }

    [Fact]
    public async Task Redelivered_Status_Event_Counts_Once()
    {
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.ConsularAlertIssued, Events.Alert("alert-dup", "ML", 3));
        var statuses = Events.Statuses("alert-dup", DeliveryStatus.Delivered, "reg-a");
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged, statuses, id: "evt-dup");
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged, statuses, id: "evt-dup");

        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM delivery WHERE source_alert_id = 'alert-dup'"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM inbox WHERE event_id = 'evt-dup'"));
    }

    [Fact]
    public async Task Late_Sent_Status_Does_Not_Undo_Delivered_And_Failed_Then_Fallback_Counts_As_Delivered()
    {
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged, Events.Statuses("alert-rank", DeliveryStatus.Failed, "reg-x"));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged, Events.Statuses("alert-rank", DeliveryStatus.Delivered, "reg-x"));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.NotificationStatusChanged, Events.Statuses("alert-rank", DeliveryStatus.Sent, "reg-x"));

        Assert.Equal(4L, await ScalarAsync("SELECT status_rank FROM delivery WHERE source_alert_id = 'alert-rank'"));
    }

    [Fact]
    public async Task Advisory_Wave_Sums_Sites_And_Travellers_And_Counts_Acknowledgements()
    {
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.AdvisoryIssued, Events.Advisory("adv-1", "wave-1", "ML", 2, 5));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.AdvisoryIssued, Events.Advisory("adv-2", "wave-1", "ML", 1, 0));
        await CloudEvents.DeliverOkAsync(Callbacks, Topics.AdvisoryAcknowledged, new AdvisoryAcknowledged
        {
            EventId = Guid.NewGuid().ToString(), AdvisoryId = "adv-2", CompanyId = "company-adv-2", WaveId = "wave-1",
        });

        var queries = _host.App.Services.GetRequiredService<Dcis.Crisis.Dashboard.Storage.ReadModelQueries>();
        var wave = Assert.Single(await queries.AlertsAsync(50, CancellationToken.None), a => a.Key == "advisory:wave-1");
        Assert.Equal((2L, 3L, 5L, 1L), (wave.Targeted, wave.AffectedSites, wave.AffectedTravellers, wave.Acknowledged));
    }

    [Fact]
    public async Task Unparseable_Event_Is_Dropped_To_The_Dead_Letters()
    {
        using var http = new HttpClient();
        using var content = new StringContent("""{"specversion":"1.0","id":"bad-1","source":"t","type":"x","datacontenttype":"application/json","data":{"sequence":"not-a-number","area":42}}""",
            Encoding.UTF8, "application/cloudevents+json");
        using var response = await http.PostAsync(new Uri(Callbacks, "events/threat-level-changed"), content);
        Assert.Contains("DROP", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dapr_Discovers_Every_Topic_And_Every_Dead_Letter_Topic()
    {
        using var http = new HttpClient();
        var json = await http.GetStringAsync(new Uri(Callbacks, "dapr/subscribe"));
        foreach (var topic in Topics.All)
        {
            Assert.Contains($"\"topic\":\"{topic}\"", json, StringComparison.Ordinal);
            Assert.Contains($"\"topic\":\"{Topics.DeadLetter(topic)}\"", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Subscription_Routes_Are_Not_Served_On_The_Web_Port()
    {
        var webPort = _host.App.Services.GetRequiredService<DashboardOptions>().WebPort;
        using var response = await CloudEvents.DeliverAsync(new Uri($"http://127.0.0.1:{webPort}/"), Topics.ThreatLevelChanged, Events.Level("GB", ThreatLevel.DoNotTravel));
        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM country_level WHERE country_code = 'GB'"));
    }

    private SqliteDatabase Database() => _host.App.Services.GetRequiredService<SqliteDatabase>();

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database().OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<string> ReadAllDatabaseBytesAsync()
    {
        var path = Database().Path;
        var text = new StringBuilder();
        foreach (var file in new[] { path, path + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            text.Append(await reader.ReadToEndAsync());
        }

        return text.ToString();
    }
}
