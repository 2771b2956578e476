using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Dcis.Crisis.Shared.Security;
using Google.Protobuf.WellKnownTypes;
using AdvisoryTripLeg = Dcis.Crisis.Advisories.V1.TripLeg;
using ConsularTripLeg = Dcis.Crisis.Consular.V1.TripLeg;

namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>A registrant of the scenario and what the test expects for them.</summary>
public sealed record Person(string Key, string RegistrantId, Channel Preferred, Language Language, string Email, string Mobile, bool PresentInMali);

/// <summary>A company of the scenario with the site and traveller references an advisory must list.</summary>
public sealed record CompanyCase(string CompanyId, string[] ExpectedSites, string[] ExpectedTravellers, bool ExpectsAdvisory, string? WebhookSecret);

/// <summary>
/// The scenario of the main job, run once for the whole class: a small world is registered, an
/// attaché proposes Mali at level 4, a second analyst approves, a crisis is declared in Bamako,
/// a registrant answers "need help". Facts then check what reached people and companies.
/// </summary>
public sealed class Scenario : IAsyncLifetime
{
    public const string FrMarker = "[E2E-FR]";
    public const string EnMarker = "[E2E-EN]";
    private static readonly LatLng Bamako = new() { Latitude = 12.64, Longitude = -8.00 };
    private static readonly LatLng Mopti = new() { Latitude = 14.49, Longitude = -4.19 };
    private static readonly LatLng Dakar = new() { Latitude = 14.72, Longitude = -17.47 };

    public CrisisSystem System { get; } = new();

    public WebhookReceiver Webhooks { get; private set; } = null!;

    public List<Person> People { get; } = [];

    public List<CompanyCase> Companies { get; } = [];

    public string LevelAlertId { get; private set; } = string.Empty;

    public string CrisisId { get; private set; } = string.Empty;

    /// <summary>The case the "need help" answer opened; answered here, before any test closes the crisis.</summary>
    public string NeedHelpCase { get; private set; } = string.Empty;

    public ThreatLevelsService.ThreatLevelsServiceClient ThreatLevels { get; private set; } = null!;

    public ConsularService.ConsularServiceClient Consular { get; private set; } = null!;

    public AdvisoriesService.AdvisoriesServiceClient Advisories { get; private set; } = null!;

    public Dcis.Crisis.Notifications.V1.NotificationsService.NotificationsServiceClient Notifications { get; private set; } = null!;

    public string OfficerToken => System.Token(Roles.ConsularOfficer, "officer-bamako", postId: "post-bamako");

    public string AnalystToken => System.Token(Roles.Analyst, "analyst-claire");

    public async Task InitializeAsync()
    {
        Webhooks = await WebhookReceiver.StartAsync();
        await System.StartAsync();
        ThreatLevels = new(CrisisSystem.Channel(5101));
        Consular = new(CrisisSystem.Channel(5201));
        Advisories = new(CrisisSystem.Channel(5301));
        Notifications = new(CrisisSystem.Channel(5401));

        await SetLevelAsync("SN", ThreatLevel.Increased);
        // Level 2 at first, so the level-3 messages of the lowering at the end are unmistakable.
        await SetLevelAsync("ML", ThreatLevel.Increased);
        await RegisterPeopleAsync();
        await RegisterCompaniesAsync();
        await RunCrisisAsync();
        await AnswerNeedHelpAsync();
    }

    private async Task AnswerNeedHelpAsync()
    {
        var person = People.Single(p => p.Key == "resident-bamako-fr-inbox");
        var token = CrisisSystem.As(System.Token(Roles.Registrant, person.RegistrantId, registrantId: person.RegistrantId));
        string? code = null;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var call = Notifications.WatchInbox(new Dcis.Crisis.Notifications.V1.WatchInboxRequest(), token.WithCancellationToken(cancel.Token));
        while (code is null && await call.ResponseStream.MoveNext(cancel.Token))
        {
            if (call.ResponseStream.Current.Message is { ReplyCode.Length: > 0 } question)
            {
                code = question.ReplyCode;
            }
        }

        var answer = await Consular.AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest
        {
            ReplyCode = code, RegistrantId = person.RegistrantId, Answer = WellbeingAnswer.NeedHelp, Text = "Besoin d'aide",
        }, token);
        NeedHelpCase = answer.CaseReference;
    }

    public async Task DisposeAsync()
    {
        await System.DisposeAsync();
        await Webhooks.DisposeAsync();
    }

    private async Task SetLevelAsync(string country, ThreatLevel level)
    {
        await ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft
            {
                AssessmentId = country,
                Area = new Area { CountryCode = country },
                Level = level,
                Categories = { new CategoryRating { Category = ThreatCategory.CrimeAndKidnapping, Severity = Severity.Moderate } },
                Summary = new LocalizedText { Fr = "Situation initiale.", En = "Initial situation." },
                Advice = new LocalizedText { Fr = "Prudence.", En = "Be careful." },
                EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Initial assessment",
            },
        }, CrisisSystem.As(AnalystToken));
    }

    private async Task RegisterPeopleAsync()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        string Day(int offset) => today.AddDays(offset).ToString("yyyy-MM-dd", global::System.Globalization.CultureInfo.InvariantCulture);
        var cases = new (string Key, RegistrantKind Kind, Channel Channel, Language Language, string Country, LatLng Where, string PostId, bool Present, int TripFrom, int TripTo)[]
        {
            ("resident-bamako-fr-email", RegistrantKind.Resident, Channel.Email, Language.Fr, "ML", Bamako, "post-bamako", true, 0, 0),
            ("resident-bamako-en-sms", RegistrantKind.Resident, Channel.Sms, Language.En, "ML", Bamako, "post-bamako", true, 0, 0),
            ("resident-bamako-fr-inbox", RegistrantKind.Resident, Channel.AppInbox, Language.Fr, "ML", Bamako, "post-bamako", true, 0, 0),
            ("both-bamako-en-email", RegistrantKind.Both, Channel.Email, Language.En, "ML", Bamako, "post-bamako", true, -2, 10),
            ("traveller-bamako-fr-sms", RegistrantKind.Traveller, Channel.Sms, Language.Fr, "ML", Bamako, "post-bamako", true, -1, 7),
            ("resident-mopti-fr-email", RegistrantKind.Resident, Channel.Email, Language.Fr, "ML", Mopti, "post-bamako", true, 0, 0),
            ("traveller-mali-past-en-sms", RegistrantKind.Traveller, Channel.Sms, Language.En, "ML", Bamako, "post-bamako", false, -20, -10),
            ("resident-dakar-fr-email", RegistrantKind.Resident, Channel.Email, Language.Fr, "SN", Dakar, "post-dakar", false, 0, 0),
        };

        var n = 0;
        foreach (var c in cases)
        {
            n++;
            var registrant = new Registrant
            {
                Kind = c.Kind,
                FullName = $"Personne Test {n}",
                Email = $"e2e{n}@demo.dcis.test",
                Mobile = $"+3376000{n:D4}",
                AppInbox = c.Channel == Channel.AppInbox,
                PreferredChannel = c.Channel,
                Language = c.Language,
                HouseholdSize = 1,
                ConsentTime = Timestamp.FromDateTime(DateTime.UtcNow),
            };
            if (c.Kind != RegistrantKind.Traveller)
            {
                registrant.Home = new HomeArea { CountryCode = c.Country, City = "Ville", Location = c.Where };
            }

            if (c.Kind != RegistrantKind.Resident)
            {
                registrant.Trips.Add(new ConsularTripLeg { CountryCode = c.Country, City = "Ville", Location = c.Where, FromDate = Day(c.TripFrom), ToDate = Day(c.TripTo) });
            }

            var token = System.Token(Roles.ConsularOfficer, $"officer-{c.PostId}", postId: c.PostId);
            var reply = await Consular.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = registrant }, CrisisSystem.As(token));
            People.Add(new Person(c.Key, reply.Registrant.RegistrantId, c.Channel, c.Language, registrant.Email, registrant.Mobile, c.Present));
        }
    }

    private async Task RegisterCompaniesAsync()
    {
        var analyst = CrisisSystem.As(AnalystToken);
        async Task<string?> CompanyAsync(string id, (string Ref, string Country, LatLng Where)[] sites, (string Ref, string Country, LatLng Where)[] trips, bool webhook, string? subscribeCountry)
        {
            await Advisories.CreateCompanyAsync(new CreateCompanyRequest
            {
                Company = new Company { CompanyId = id, Name = $"Entreprise {id}", Contacts = { new SecurityContact { DisplayName = "Sûreté", Language = Language.Fr, Email = $"surete@{id}.demo.dcis.test" } } },
            }, analyst);
            var own = CrisisSystem.As(System.Token(Roles.CompanySecurity, $"security-{id}", companyId: id));
            foreach (var site in sites)
            {
                await Advisories.CreateSiteAsync(new CreateSiteRequest
                {
                    CompanyId = id,
                    Site = new Site { Name = site.Ref, Reference = site.Ref, CountryCode = site.Country, City = "Ville", Location = site.Where, ExpatriateHeadcount = 3, LocalHeadcount = 40 },
                }, own);
            }

            foreach (var trip in trips)
            {
                await Advisories.CreateStaffTripAsync(new CreateStaffTripRequest
                {
                    CompanyId = id,
                    Trip = new StaffTrip
                    {
                        TravellerReference = trip.Ref,
                        TravellerName = "Voyageur " + trip.Ref,
                        Legs = { new AdvisoryTripLeg { CountryCode = trip.Country, City = "Ville", Location = trip.Where, FromTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-1)), ToTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(6)) } },
                    },
                }, own);
            }

            if (subscribeCountry is not null)
            {
                await Advisories.CreateSubscriptionAsync(new CreateSubscriptionRequest
                {
                    CompanyId = id,
                    Subscription = new Subscription { CountryCodes = { subscribeCountry }, MinimumLevel = ThreatLevel.AvoidNonEssential },
                }, own);
            }

            return webhook ? (await Advisories.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { CompanyId = id, Url = Webhooks.Url }, own)).Endpoint.Secret : null;
        }

        var secret = await CompanyAsync("e2e-co-bamako", [("SITE-BKO-1", "ML", Bamako), ("SITE-DKR-1", "SN", Dakar)], [("TRV-ML-1", "ML", Bamako)], webhook: true, null);
        Companies.Add(new CompanyCase("e2e-co-bamako", ["SITE-BKO-1"], ["TRV-ML-1"], true, secret));
        await CompanyAsync("e2e-co-mopti", [("SITE-MOP-1", "ML", Mopti)], [], webhook: false, null);
        Companies.Add(new CompanyCase("e2e-co-mopti", ["SITE-MOP-1"], [], true, null));
        await CompanyAsync("e2e-co-traveller", [], [("TRV-ML-2", "ML", Bamako)], webhook: false, null);
        Companies.Add(new CompanyCase("e2e-co-traveller", [], ["TRV-ML-2"], true, null));
        await CompanyAsync("e2e-co-dakar", [("SITE-DKR-2", "SN", Dakar)], [("TRV-SN-1", "SN", Dakar)], webhook: false, null);
        Companies.Add(new CompanyCase("e2e-co-dakar", [], [], false, null));
    }

    private async Task RunCrisisAsync()
    {
        var attache = CrisisSystem.As(System.Token(Roles.Attache, "attache-ml", countries: ["ML"]));
        var secondAnalyst = CrisisSystem.As(System.Token(Roles.Analyst, "analyst-marc"));
        var current = (await ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" }, CrisisSystem.As(AnalystToken))).Assessment;
        var proposed = await ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft
            {
                AssessmentId = "ML",
                Area = new Area { CountryCode = "ML" },
                Level = ThreatLevel.DoNotTravel,
                Categories =
                {
                    new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Severe },
                    new CategoryRating { Category = ThreatCategory.CrimeAndKidnapping, Severity = Severity.Moderate },
                },
                Summary = new LocalizedText { Fr = FrMarker + " Attaques à Bamako.", En = EnMarker + " Attacks in Bamako." },
                Advice = new LocalizedText { Fr = "Restez chez vous.", En = "Stay at home." },
                EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Attaques coordonnées",
                ExpectedVersion = current.Version,
            },
        }, attache);
        await ThreatLevels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposed.Proposal.ProposalId }, secondAnalyst);

        var declared = await ThreatLevels.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = AttackInBamako() }, CrisisSystem.As(AnalystToken));
        CrisisId = declared.Outcome == ChangeOutcome.Proposed
            ? (await ThreatLevels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = declared.Proposal.ProposalId }, secondAnalyst)).Crisis.CrisisId
            : declared.Crisis.CrisisId;

        LevelAlertId = await WaitForLevelAlertAsync();
    }

    /// <summary>The crisis of the scenario: armed attacks within 30 km of Bamako, with a wellbeing check.</summary>
    public static CrisisDraft AttackInBamako() => new()
    {
        Kind = CrisisKind.Attack,
        Area = new Area { CountryCode = "ML", Circle = new Circle { Center = Bamako, RadiusMeters = 30_000 }, ZoneName = "Bamako" },
        Title = new LocalizedText { Fr = "Attaques à Bamako", En = "Attacks in Bamako" },
        Description = new LocalizedText { Fr = "Attaques armées.", En = "Armed attacks." },
        StartTime = Timestamp.FromDateTime(DateTime.UtcNow),
        Reason = "Attaques en cours",
        StartWellbeingCheck = true,
    };

    private async Task<string> WaitForLevelAlertAsync()
    {
        string? id = null;
        await Testing.Eventually.TrueAsync(async () =>
        {
            var alerts = await Consular.ListAlertsAsync(new ListAlertsRequest { PageSize = 50 }, CrisisSystem.As(OfficerToken));
            var alert = alerts.Alerts.FirstOrDefault(a => a.Area.CountryCode == "ML" && a.Level == ThreatLevel.DoNotTravel && string.IsNullOrEmpty(a.CrisisId)
                && a.MessageType == Dcis.Crisis.Events.V1.AlertMessageType.Alert);
            id = alert?.AlertId;
            if (id is null)
            {
                return false;
            }

            // Lists carry no counts: the status call does.
            var counts = (await Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = id }, CrisisSystem.As(OfficerToken))).Alert.Counts;
            return counts is { Targeted: > 0 } && counts.Sent + counts.Failed >= counts.Targeted;
        }, TimeSpan.FromMinutes(3), "the level-4 consular alert is sent to everyone targeted\n" + System.Output);
        return id!;
    }
}
