using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Dcis.Crisis.Consular.Tests;

/// <summary>The consular service on real Kestrel and SQLite, with a manual clock and the background job off.</summary>
public sealed class ConsularTestHost : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public ManualClock Clock { get; } = new(Start);

    public ServiceHost Host { get; private set; } = null!;

    public string DbPath => Path.Combine(Host.DataDir, "consular.db");

    public async Task InitializeAsync() =>
        Host = await ServiceHost.StartAsync(
            args => ConsularApp.Create(args, s => s.AddSingleton<TimeProvider>(Clock)),
            new Dictionary<string, string> { ["Consular:JobIntervalSeconds"] = "0" });

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public T Service<T>()
        where T : notnull => Host.App.Services.GetRequiredService<T>();

    public ConsularService.ConsularServiceClient Officer(string postId) =>
        Client(Host.Token(Roles.ConsularOfficer, $"officer-{postId}", postId: postId));

    public ConsularService.ConsularServiceClient As(string role, string? registrantId = null) =>
        Client(Host.Token(role, $"{role}-user", registrantId: registrantId));

    public ConsularService.ConsularServiceClient Client(string token) => new(Host.Channel(token));

    public static string Date(int daysFromStart) => DateOnly.FromDateTime(Start.UtcDateTime).AddDays(daysFromStart).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public static Registrant Resident(string country, string? subdivision = null, Language language = Language.Fr, LatLng? at = null) => new()
    {
        FullName = "Test Resident",
        Home = new HomeArea { CountryCode = country, SubdivisionCode = subdivision ?? string.Empty, Location = at },
        Email = "resident@example.org",
        Mobile = "+22376543210",
        AppInbox = true,
        PreferredChannel = Channel.Sms,
        Language = language,
        ConsentTime = Timestamp.FromDateTimeOffset(Start.AddDays(-10)),
    };

    public static Registrant Traveller(string country, int fromDay, int toDay, string? subdivision = null, LatLng? at = null) => new()
    {
        FullName = "Test Traveller",
        Trips = { new TripLeg { CountryCode = country, SubdivisionCode = subdivision ?? string.Empty, FromDate = Date(fromDay), ToDate = Date(toDay), Location = at } },
        Email = "traveller@example.org",
        PreferredChannel = Channel.Email,
        Language = Language.En,
        ConsentTime = Timestamp.FromDateTimeOffset(Start.AddDays(-10)),
    };

    public async Task<Registrant> RegisterAsync(string postId, Registrant r) =>
        (await Officer(postId).RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = r })).Registrant;

    /// <summary>Outbox rows (unsent and sent) of a topic, parsed.</summary>
    public async Task<List<T>> OutboxAsync<T>(string topic, bool unsentOnly = false)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        await using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.Command(
            $"SELECT data FROM outbox WHERE topic = $t {(unsentOnly ? "AND sent_at IS NULL" : string.Empty)} ORDER BY seq", null, ("$t", topic));
        await using var reader = await command.ExecuteReaderAsync();
        var list = new List<T>();
        while (await reader.ReadAsync())
        {
            list.Add(ProtoJson.Parse<T>(reader.GetString(0)));
        }

        return list;
    }

    public async Task<long> CountAsync(string sql, params (string, object?)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.Command(sql, null, parameters);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static ThreatLevelChanged LevelChange(string country, ThreatLevel from, ThreatLevel to, long version = 1, string? assessmentId = null) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        AssessmentId = assessmentId ?? country,
        Version = version,
        Sequence = version,
        Area = new Area { CountryCode = country },
        PreviousLevel = from,
        NewLevel = to,
        Summary = new LocalizedText { Fr = "Situation dégradée.", En = "Situation worsened." },
        Advice = new LocalizedText { Fr = "Restez chez vous.", En = "Stay at home." },
        EffectiveTime = Timestamp.FromDateTimeOffset(Start),
        ChangedAt = Timestamp.FromDateTimeOffset(Start),
        Reason = "test",
        Author = "analyst-1",
        ApprovalMode = ApprovalMode.NotRequired,
        ChangeId = Guid.NewGuid().ToString(),
    };

    public static IncomingEvent Incoming(string id, string topic) => new(id, "test", topic, null);
}
