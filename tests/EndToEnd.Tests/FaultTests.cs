using System.Globalization;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.V1;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Xunit.Abstractions;

namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>
/// The main job's promise under faults: during the fan-out of a level-4 change and of a crisis's
/// wellbeing check, consular, then notifications, then consular's sidecar, then redis-server are
/// killed with <c>kill -9</c> (the launcher restarts each, as an orchestrator would). Every person
/// present still gets exactly one alert and one "are you safe?" question, nobody outside gets
/// anything, every affected company exactly one advisory.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Present = 1_200;
    private const int Outside = 40;
    private const int AffectedCompanies = 12;
    private static readonly LatLng Bamako = new() { Latitude = 12.64, Longitude = -8.00 };
    private static readonly LatLng Dakar = new() { Latitude = 14.72, Longitude = -17.47 };

    private CrisisSystem System { get; } = new();
    private readonly List<(string Address, Language Language, bool InMali)> _people = [];
    private ThreatLevelsService.ThreatLevelsServiceClient _levels = null!;
    private ConsularService.ConsularServiceClient _consular = null!;
    private AdvisoriesService.AdvisoriesServiceClient _advisories = null!;

    public async Task InitializeAsync()
    {
        await System.StartAsync();
        _levels = new(CrisisSystem.Channel(5101));
        _consular = new(CrisisSystem.Channel(5201));
        _advisories = new(CrisisSystem.Channel(5301));
    }

    public async Task DisposeAsync() => await System.DisposeAsync();

    private CallOptions Analyst(string who = "analyst-claire") => CrisisSystem.As(System.Token(Roles.Analyst, who));

    [Fact]
    public async Task Killing_Consular_Notifications_A_Sidecar_And_Redis_During_The_Fan_Out_Loses_And_Duplicates_Nothing()
    {
        await _levels.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("ML", ThreatLevel.Increased, 0, "Initial assessment") }, Analyst());
        await RegisterPeopleAsync();
        await RegisterCompaniesAsync();

        // Fan-out 1: the level-4 change. Consular dies as soon as it has targeted the alert (its outbox
        // is still relaying the notification batches); notifications dies once some messages are out.
        var current = (await _levels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" }, Analyst())).Assessment;
        var proposal = await _levels.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("ML", ThreatLevel.DoNotTravel, current.Version, "Attaques coordonnées") },
            CrisisSystem.As(System.Token(Roles.Attache, "attache-ml", countries: ["ML"])));
        await _levels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.Proposal.ProposalId }, Analyst("analyst-marc"));

        await Eventually.TrueAsync(async () => (await LevelAlertAsync()) is not null, TimeSpan.FromMinutes(2), "consular targets the level-4 alert\n" + System.Output);
        await System.KillAndAwaitRestartAsync("consular", CrisisSystem.App("Dcis.Crisis.Consular.dll"));
        await WaitForMessagesAsync(IsLevel4, Present / 10);
        await System.KillAndAwaitRestartAsync("notifications", CrisisSystem.App("Dcis.Crisis.Notifications.dll"));
        await CrisisSystem.WaitHealthyAsync("consular");
        await CrisisSystem.WaitHealthyAsync("notifications");

        // Fan-out 2: a crisis in Bamako starts a wellbeing check. Consular's sidecar dies right after
        // the declaration (the event and the question batches in flight); redis-server dies once some
        // questions are out.
        var declared = await _levels.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Scenario.AttackInBamako() }, Analyst());
        if (declared.Outcome == ChangeOutcome.Proposed)
        {
            await _levels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = declared.Proposal.ProposalId }, Analyst("analyst-marc"));
        }

        await System.KillAndAwaitRestartAsync("consular's sidecar", CrisisSystem.Sidecar("consular"));
        await WaitForMessagesAsync(IsQuestion, Present / 5);
        await System.KillAndAwaitRestartAsync("redis-server", CrisisSystem.Redis);

        await AssertEveryonePresentGetsExactlyOneAsync(IsLevel4, "level-4 alert", checkLanguage: true);
        await AssertEveryonePresentGetsExactlyOneAsync(IsQuestion, "wellbeing question", checkLanguage: false);
        await AssertCompaniesGetOneAdvisoryAsync();

        var texts = await Sinks.TextsByAddressAsync();
        foreach (var (address, _, _) in _people.Where(p => !p.InMali))
        {
            Assert.False(texts.ContainsKey(address), $"{address} is outside Mali yet received {texts.GetValueOrDefault(address)?.Count} message(s)");
        }

        var alertId = (await LevelAlertAsync())!;
        var counts = (await _consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alertId }, Officer())).Alert.Counts;
        Assert.Equal(Present, counts.Targeted);
        await ReportReplaysAsync();
    }

    private static AssessmentDraft Draft(string country, ThreatLevel level, long expectedVersion, string reason) => new()
    {
        AssessmentId = country,
        Area = new Area { CountryCode = country },
        Level = level,
        Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = level == ThreatLevel.DoNotTravel ? Severity.Severe : Severity.Moderate } },
        Summary = new LocalizedText { Fr = "Situation sécuritaire.", En = "Security situation." },
        Advice = new LocalizedText { Fr = "Suivez les consignes.", En = "Follow instructions." },
        EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
        Reason = reason,
        ExpectedVersion = expectedVersion,
    };

    private CallOptions Officer(string post = "post-bamako") => CrisisSystem.As(System.Token(Roles.ConsularOfficer, $"officer-{post}", postId: post));

    private async Task RegisterPeopleAsync()
    {
        var everyone = Enumerable.Range(0, Present + Outside).Select(i =>
        {
            var inMali = i < Present;
            var sms = i % 2 == 0;
            var language = i % 3 == 0 ? Language.En : Language.Fr;
            var email = $"fault{i}@demo.dcis.test";
            var mobile = "+3377" + i.ToString("D7", CultureInfo.InvariantCulture);
            return (Index: i, InMali: inMali, Sms: sms, Language: language, Email: email, Mobile: mobile);
        }).ToList();
        _people.AddRange(everyone.Select(p => (p.Sms ? p.Mobile : p.Email, p.Language, p.InMali)));

        await Parallel.ForEachAsync(everyone, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, ct) =>
        {
            var registrant = new Registrant
            {
                Kind = RegistrantKind.Resident,
                FullName = $"Personne {p.Index}",
                Email = p.Email,
                Mobile = p.Mobile,
                PreferredChannel = p.Sms ? Channel.Sms : Channel.Email,
                Language = p.Language,
                HouseholdSize = 1,
                ConsentTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Home = new HomeArea { CountryCode = p.InMali ? "ML" : "SN", City = p.InMali ? "Bamako" : "Dakar", Location = p.InMali ? Bamako : Dakar },
            };
            await _consular.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = registrant }, Officer(p.InMali ? "post-bamako" : "post-dakar"));
        });
    }

    private readonly Dictionary<string, string> _companySites = [];

    private async Task RegisterCompaniesAsync()
    {
        for (var i = 0; i < AffectedCompanies; i++)
        {
            var id = $"fault-co-{i}";
            await _advisories.CreateCompanyAsync(new CreateCompanyRequest
            {
                Company = new Company { CompanyId = id, Name = $"Entreprise {i}", Contacts = { new SecurityContact { DisplayName = "Sûreté", Language = Language.Fr, Email = $"surete@{id}.demo.dcis.test" } } },
            }, Analyst());
            var own = CrisisSystem.As(System.Token(Roles.CompanySecurity, $"security-{id}", companyId: id));
            var reference = $"SITE-BKO-{i}";
            await _advisories.CreateSiteAsync(new CreateSiteRequest
            {
                CompanyId = id,
                Site = new Site { Name = reference, Reference = reference, CountryCode = "ML", City = "Bamako", Location = Bamako, ExpatriateHeadcount = 2, LocalHeadcount = 20 },
            }, own);
            _companySites[id] = reference;
        }
    }

    private async Task<string?> LevelAlertAsync()
    {
        var alerts = await _consular.ListAlertsAsync(new ListAlertsRequest { PageSize = 50 }, Officer());
        return alerts.Alerts.FirstOrDefault(a => a.Area.CountryCode == "ML" && a.Level == ThreatLevel.DoNotTravel && string.IsNullOrEmpty(a.CrisisId)
            && a.MessageType == Events.V1.AlertMessageType.Alert)?.AlertId;
    }

    private static bool IsLevel4(string text) =>
        text.Contains("Do not travel", StringComparison.Ordinal) || text.Contains("Formellement déconseillé", StringComparison.Ordinal);

    private static bool IsQuestion(string text) =>
        (text.Contains("Are you safe", StringComparison.Ordinal) || text.Contains("Êtes-vous en sécurité", StringComparison.Ordinal))
        && !text.Contains("Reminder", StringComparison.Ordinal) && !text.Contains("Rappel", StringComparison.Ordinal);

    private async Task WaitForMessagesAsync(Func<string, bool> kind, int atLeast)
    {
        await Eventually.TrueAsync(async () => (await Sinks.TextsByAddressAsync()).Values.Sum(texts => texts.Count(kind)) >= atLeast,
            TimeSpan.FromMinutes(3), $"{atLeast} messages handed to the sinks\n{System.Output}");
    }

    private async Task AssertEveryonePresentGetsExactlyOneAsync(Func<string, bool> kind, string what, bool checkLanguage)
    {
        var present = _people.Where(p => p.InMali).ToList();
        Dictionary<string, List<string>> texts = [];
        await Eventually.TrueAsync(async () =>
        {
            texts = await Sinks.TextsByAddressAsync();
            return present.All(p => texts.TryGetValue(p.Address, out var list) && list.Any(kind));
        }, TimeSpan.FromMinutes(6), $"every person present gets a {what}: missing {present.Count(p => !texts.TryGetValue(p.Address, out var l) || !l.Any(kind))}\n{System.Output}");

        foreach (var (address, language, _) in present)
        {
            var mine = texts[address].Where(kind).ToList();
            Assert.True(mine.Count == 1, $"{address}: {mine.Count} × {what}");
            if (checkLanguage)
            {
                Assert.True(language == Language.En ? mine[0].Contains("Do not travel", StringComparison.Ordinal) : !mine[0].Contains("Do not travel", StringComparison.Ordinal),
                    $"{address}: {what} not in {language}: {mine[0]}");
            }
        }
    }

    private async Task AssertCompaniesGetOneAdvisoryAsync()
    {
        foreach (var (company, site) in _companySites)
        {
            var token = CrisisSystem.As(System.Token(Roles.CompanySecurity, $"security-{company}", companyId: company));
            List<Advisory> level4 = [];
            await Eventually.TrueAsync(async () =>
            {
                var list = await _advisories.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = company, PageSize = 100 }, token);
                level4 = [.. list.Advisories.Where(a => a.Cause == AdvisoryCause.LevelChanged && a.NewLevel == ThreatLevel.DoNotTravel)];
                return level4.Count > 0;
            }, TimeSpan.FromMinutes(3), company);
            var advisory = Assert.Single(level4);
            Assert.Equal([site], advisory.AffectedSites.Select(s => s.Reference));
        }
    }

    /// <summary>How much the faults made the system repeat, for the record (not asserted: it depends on timing).</summary>
    private async Task ReportReplaysAsync()
    {
        var sms = await Sinks.SmsStatsAsync();
        var mail = await Sinks.MailStatsAsync();
        var log = System.Output.Split('\n');
        output.WriteLine($"replays: SMS hand-overs repeated and ignored by the sink {sms.Duplicates} (of {sms.Messages} stored); "
            + $"e-mails repeated and ignored (same Message-Id) {mail.Duplicates} (of {mail.Messages}); "
            + $"notification requests redelivered and skipped {log.Count(l => l.Contains("already processed", StringComparison.Ordinal))}; "
            + $"restarts {log.Count(l => l.Contains("exited unexpectedly", StringComparison.Ordinal))}");
        foreach (var line in log.Where(l => l.Contains("[e2e]", StringComparison.Ordinal) || l.Contains("exited unexpectedly", StringComparison.Ordinal) || l.Contains("dead-letter", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }
    }
}
