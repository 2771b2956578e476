using System.Text.Json;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.V1;
using Dcis.Crisis.Testing;
using Grpc.Core;
using StandardWebhooks;

namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>What the main job promises, checked on the running system after one crisis.</summary>
public sealed class ScenarioTests(Scenario scenario) : IClassFixture<Scenario>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static readonly CrisisCli Cli = new(Path.Combine(Repository.Root, "services/Cli/bin/Release/net10.0/crisis.dll"));

    private async Task<List<InboxMessage>> InboxAsync(Person person, Func<List<InboxMessage>, bool> enough)
    {
        var token = scenario.System.Token(Roles.Registrant, person.RegistrantId, registrantId: person.RegistrantId);
        var messages = new List<InboxMessage>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = scenario.Notifications.WatchInbox(new WatchInboxRequest(), CrisisSystem.As(token).WithCancellationToken(cancel.Token));
        try
        {
            while (!enough(messages) && await call.ResponseStream.MoveNext(cancel.Token))
            {
                if (call.ResponseStream.Current.Message is { } message)
                {
                    messages.Add(message);
                }
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
        {
            // The limit passed; the assertions below say what was missing.
        }

        return messages;
    }

    private static bool IsLevel4(string text, Language language) => language == Language.En
        ? text.Contains("Do not travel", StringComparison.Ordinal) || text.Contains(Scenario.EnMarker, StringComparison.Ordinal)
        : text.Contains("Formellement déconseillé", StringComparison.Ordinal) || text.Contains(Scenario.FrMarker, StringComparison.Ordinal);

    private static bool IsLevel4Any(string text) => IsLevel4(text, Language.En) || IsLevel4(text, Language.Fr);

    private async Task<List<string>> Level4TextsAsync(Person person) => person.Preferred switch
    {
        Channel.Email => [.. (await Sinks.MailAsync(person.Email)).Select(m => m.Subject).Where(IsLevel4Any)],
        Channel.Sms => [.. (await Sinks.SmsAsync(person.Mobile)).Select(m => m.Text).Where(IsLevel4Any)],
        _ => [.. (await InboxAsync(person, list => list.Any(m => IsLevel4Any(m.Subject + m.Body)))).Select(m => m.Subject + " " + m.Body).Where(IsLevel4Any)],
    };

    [Fact]
    public async Task Every_Registrant_Present_Gets_Exactly_One_Level4_Alert_In_Their_Language_On_Their_Channel()
    {
        foreach (var person in scenario.People.Where(p => p.PresentInMali))
        {
            List<string> texts = [];
            await Eventually.TrueAsync(async () => (texts = await Level4TextsAsync(person)).Count > 0, TimeSpan.FromMinutes(2), person.Key);
            await Task.Delay(500);
            texts = await Level4TextsAsync(person);
            Assert.True(texts.Count == 1, $"{person.Key}: {texts.Count} level-4 messages on {person.Preferred}");
            Assert.True(IsLevel4(texts[0], person.Language), $"{person.Key}: message not in {person.Language}: {texts[0]}");
        }
    }

    // The SMS and mail sinks report a delivery receipt for each message, as a gateway and an e-mail provider do, to
    // notifications, whose status trail reaches consular: the officer's "delivered" is the provider's word, not the hand-over.
    [Fact]
    public async Task The_Officer_Sees_Sms_And_Email_Deliveries_Confirmed_By_The_Providers_Receipts()
    {
        var confirmed = scenario.People.Where(p => p.PresentInMali && p.Preferred is Channel.Sms or Channel.Email).ToList();
        Assert.Contains(confirmed, p => p.Preferred == Channel.Sms);
        Assert.Contains(confirmed, p => p.Preferred == Channel.Email);
        await Eventually.TrueAsync(async () =>
        {
            var counts = (await scenario.Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = scenario.LevelAlertId },
                CrisisSystem.As(scenario.OfficerToken))).Alert.Counts;
            return counts.Delivered >= confirmed.Count;
        }, TimeSpan.FromMinutes(1), $"at least the {confirmed.Count} SMS and e-mail recipients are counted delivered");
        foreach (var person in confirmed)
        {
            var receipt = person.Preferred == Channel.Sms
                ? (await Sinks.SmsAsync(person.Mobile)).Single(m => IsLevel4Any(m.Text)).Receipt
                : (await Sinks.MailAsync(person.Email)).Single(m => IsLevel4Any(m.Subject)).Receipt;
            Assert.True(receipt == "delivered", $"{person.Key} ({person.Preferred}): receipt {receipt ?? "none"}");
        }
    }

    [Fact]
    public async Task Nobody_Outside_The_Area_Gets_The_Alert()
    {
        var status = await scenario.Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = scenario.LevelAlertId }, CrisisSystem.As(scenario.OfficerToken));
        Assert.Equal(scenario.People.Count(p => p.PresentInMali), status.Alert.Counts.Targeted);
        foreach (var person in scenario.People.Where(p => !p.PresentInMali))
        {
            Assert.DoesNotContain(await Sinks.MailAsync(person.Email), m => IsLevel4Any(m.Subject));
            Assert.DoesNotContain(await Sinks.SmsAsync(person.Mobile), m => IsLevel4Any(m.Text));
        }
    }

    [Fact]
    public async Task Every_Affected_Company_Gets_One_Advisory_Listing_Exactly_Its_Sites_And_Travellers()
    {
        foreach (var company in scenario.Companies)
        {
            var token = CrisisSystem.As(scenario.System.Token(Roles.CompanySecurity, $"security-{company.CompanyId}", companyId: company.CompanyId));
            List<Advisory> level4 = [];
            if (company.ExpectsAdvisory)
            {
                await Eventually.TrueAsync(async () =>
                {
                    var list = await scenario.Advisories.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = company.CompanyId, PageSize = 100 }, token);
                    level4 = [.. list.Advisories.Where(a => a.Cause == AdvisoryCause.LevelChanged && a.NewLevel == ThreatLevel.DoNotTravel)];
                    return level4.Count > 0;
                }, TimeSpan.FromMinutes(2), company.CompanyId);
                var advisory = Assert.Single(level4);
                Assert.Equal(company.ExpectedSites.Order(), advisory.AffectedSites.Select(s => s.Reference).Order());
                Assert.Equal(company.ExpectedTravellers.Order(), advisory.AffectedTravellers.Select(t => t.TravellerReference).Order());
            }
            else
            {
                var list = await scenario.Advisories.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = company.CompanyId, PageSize = 100 }, token);
                Assert.DoesNotContain(list.Advisories, a => a.Area.CountryCode == "ML");
            }
        }
    }

    // The system as deploy/up.sh runs it, on its embedded defaults: advisories reaches threat-levels
    // for briefings without being told where (it once answered FailedPrecondition, "needs the
    // threat-levels address", there). Compared with threat-levels' assessment at the time of the call,
    // so that it holds before and after the test that lowers the level, and eventually: the briefing
    // cache follows threat-levels' events.
    [Fact]
    public async Task A_Company_Gets_A_Pre_Travel_Briefing_For_Mali_That_Matches_Threat_Levels()
    {
        var company = scenario.Companies.First(c => c.ExpectsAdvisory);
        var security = CrisisSystem.As(scenario.System.Token(Roles.CompanySecurity, $"security-{company.CompanyId}", companyId: company.CompanyId));
        var analyst = CrisisSystem.As(scenario.AnalystToken);
        GetBriefingResponse briefing = null!;
        Assessment assessment = null!;
        await Eventually.TrueAsync(async () =>
        {
            assessment = (await scenario.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" }, analyst)).Assessment;
            briefing = await scenario.Advisories.GetBriefingAsync(new GetBriefingRequest { CountryCode = "ML", City = "Bamako" }, security);
            return briefing.CountryVersion == assessment.Version;
        }, TimeSpan.FromMinutes(1), "briefing at threat-levels' version");
        Assert.Equal(assessment.Level, briefing.CountryLevel);
        Assert.Equal(assessment.Advice.Fr, briefing.Advice.Fr);
        Assert.Equal("Bamako", briefing.City);
        Assert.NotEmpty(briefing.RecommendedMeasures);
        Assert.All(briefing.RecommendedMeasures, m => Assert.False(string.IsNullOrWhiteSpace(m.Fr) || string.IsNullOrWhiteSpace(m.En)));
    }

    // The crisis as the officer and a security manager read it with the command-line client, a process against the
    // launched services on their default addresses, as the README tells them to.
    [Fact]
    public async Task The_Officer_And_A_Security_Manager_Read_The_Crisis_With_The_Cli()
    {
        var (listExit, list, listError) = await Cli.RunAsync("alerts", "list", "--limit", "50", "--token", scenario.OfficerToken);
        Assert.True(listExit == 0, listError);
        Assert.Contains(scenario.LevelAlertId, list, StringComparison.Ordinal);
        var (statusExit, status, statusError) = await Cli.RunAsync("alerts", "status", scenario.LevelAlertId, "-o", "Json", "--token", scenario.OfficerToken);
        Assert.True(statusExit == 0, statusError);
        using (var json = JsonDocument.Parse(status))
        {
            Assert.Equal(scenario.People.Count(p => p.PresentInMali).ToString(System.Globalization.CultureInfo.InvariantCulture),
                json.RootElement.GetProperty("alert").GetProperty("counts").GetProperty("targeted").GetString());
        }

        var company = scenario.Companies.First(c => c.ExpectsAdvisory);
        var security = scenario.System.Token(Roles.CompanySecurity, $"security-{company.CompanyId}", companyId: company.CompanyId);
        var analyst = CrisisSystem.As(scenario.AnalystToken);
        await Eventually.TrueAsync(async () =>
        {
            // Read the level first: the briefing may only be as new or newer, never older.
            var advice = (await scenario.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" }, analyst)).Assessment.Advice.Fr;
            var (exit, briefing, _) = await Cli.RunAsync("briefing", "ML", "--lang", "fr", "--token", security);
            return exit == 0 && briefing.Contains(advice, StringComparison.Ordinal);
        }, TimeSpan.FromMinutes(1), "crisis briefing ML --lang fr prints threat-levels' French advice");
    }

    [Fact]
    public async Task Company_Webhook_Carries_A_Valid_Standard_Webhooks_Signature()
    {
        var company = scenario.Companies.Single(c => c.WebhookSecret is not null);
        await Eventually.TrueAsync(() => !scenario.Webhooks.Requests.IsEmpty, TimeSpan.FromMinutes(2), "a webhook arrives");
        var (headers, body) = scenario.Webhooks.Requests.First();
        var verifier = new StandardWebhook(company.WebhookSecret!);
        var webHeaders = new HeaderDictionary();
        foreach (var (key, value) in headers)
        {
            webHeaders[key] = value;
        }

        verifier.Verify(body, webHeaders);
        Assert.Contains(company.CompanyId, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Need_Help_Answer_Is_Escalated_To_The_Crisis_Cell_At_Once()
    {
        var viewer = scenario.System.Token(Roles.CrisisCellViewer, "viewer");
        await Eventually.TrueAsync(async () =>
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, new Uri("http://127.0.0.1:5500/api/wellbeing"));
            get.Headers.Authorization = new("Bearer", viewer);
            var json = await (await Http.SendAsync(get)).Content.ReadAsStringAsync();
            return json.Contains(scenario.NeedHelpCase, StringComparison.Ordinal);
        }, TimeSpan.FromMinutes(1), "the dashboard lists the need-help case");
    }

    [Fact]
    public async Task One_Trace_Links_The_Level_Change_To_A_Delivery()
    {
        Dictionary<string, HashSet<string>> appsByTrace = [];
        await Eventually.TrueAsync(() =>
        {
            if (!File.Exists(scenario.System.TraceFile))
            {
                return false;
            }

            appsByTrace = [];
            string[] lines;
            using (var stream = new FileStream(scenario.System.TraceFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream))
            {
                lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }

            foreach (var line in lines)
            {
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var trace = doc.RootElement.GetProperty("traceId").GetString()!;
                    var app = doc.RootElement.GetProperty("app").GetString()! + ":" + doc.RootElement.GetProperty("name").GetString();
                    appsByTrace.TryAdd(trace, []);
                    appsByTrace[trace].Add(app);
                }
                catch (JsonException)
                {
                    // A line being written right now; the next poll reads it whole.
                }
            }

            return appsByTrace.Values.Any(apps =>
                apps.Any(a => a.StartsWith("threat-levels:", StringComparison.Ordinal) && a.Contains("ApproveProposal", StringComparison.Ordinal))
                && apps.Any(a => a.StartsWith("notifications:", StringComparison.Ordinal)));
        }, TimeSpan.FromMinutes(1), "a trace with threat-levels ApproveProposal and a notifications span");
    }

    [Fact]
    public async Task Cancel_Marks_The_Alert_Cancelled_And_Exports_A_Cap_Cancel_Referencing_It()
    {
        var officer = CrisisSystem.As(scenario.OfficerToken);
        var issued = await scenario.Consular.IssueAlertAsync(new IssueAlertRequest
        {
            Area = new Area { CountryCode = "ML" },
            Headline = new LocalizedText { Fr = "Couvre-feu", En = "Curfew" },
            Body = new LocalizedText { Fr = "Couvre-feu à 20 h.", En = "Curfew at 8 pm." },
            ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(6)),
        }, officer);
        var cancel = await scenario.Consular.CancelAlertAsync(new CancelAlertRequest { AlertId = issued.Alert.AlertId, Reason = "Erreur" }, officer);

        var status = await scenario.Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = issued.Alert.AlertId }, officer);
        Assert.Equal(AlertState.Cancelled, status.Alert.State);
        var cap = System.Xml.Linq.XDocument.Parse((await scenario.Consular.ExportAlertCapAsync(new ExportAlertCapRequest { AlertId = issued.Alert.AlertId, Version = cancel.Alert.Version }, officer)).CapXml);
        System.Xml.Linq.XNamespace ns = "urn:oasis:names:tc:emergency:cap:1.2";
        Assert.Equal("Cancel", cap.Root!.Element(ns + "msgType")!.Value);
        Assert.Contains(issued.Alert.AlertId, cap.Root.Element(ns + "references")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_The_Crisis_And_Lowering_To_Level_3_Reaches_Everyone_Present_Once_More_And_Companies_See_4_To_3()
    {
        var analyst = CrisisSystem.As(scenario.AnalystToken);
        var crisis = (await scenario.ThreatLevels.GetCrisisAsync(new GetCrisisRequest { CrisisId = scenario.CrisisId }, analyst)).Crisis;
        await scenario.ThreatLevels.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = crisis.Version }, analyst);
        var current = (await scenario.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" }, analyst)).Assessment;
        var lowered = await scenario.ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft
            {
                AssessmentId = "ML",
                Area = new Area { CountryCode = "ML" },
                Level = ThreatLevel.AvoidNonEssential,
                Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High } },
                Summary = new LocalizedText { Fr = "Situation stabilisée.", En = "Situation stabilised." },
                Advice = new LocalizedText { Fr = "Déplacements essentiels seulement.", En = "Essential travel only." },
                EffectiveTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Fin des attaques",
                ExpectedVersion = current.Version,
            },
        }, analyst);
        // Lowering needs no second analyst: only raising to 4 and declaring a crisis do.
        Assert.Equal(ChangeOutcome.Applied, lowered.Outcome);

        static bool IsLevel3(string text, Language language) => language == Language.En
            ? text.Contains("Avoid non-essential travel", StringComparison.Ordinal)
            : text.Contains("Déconseillé sauf raison impérative", StringComparison.Ordinal);
        foreach (var person in scenario.People.Where(p => p.PresentInMali))
        {
            List<string> texts = [];
            async Task<List<string>> Level3Async() => person.Preferred switch
            {
                Channel.Email => [.. (await Sinks.MailAsync(person.Email)).Select(m => m.Subject).Where(t => IsLevel3(t, Language.En) || IsLevel3(t, Language.Fr))],
                Channel.Sms => [.. (await Sinks.SmsAsync(person.Mobile)).Select(m => m.Text).Where(t => IsLevel3(t, Language.En) || IsLevel3(t, Language.Fr))],
                _ => [.. (await InboxAsync(person, list => list.Any(m => IsLevel3(m.Subject, person.Language)))).Select(m => m.Subject).Where(t => IsLevel3(t, Language.En) || IsLevel3(t, Language.Fr))],
            };
            await Eventually.TrueAsync(async () => (texts = await Level3Async()).Count > 0, TimeSpan.FromMinutes(2), person.Key);
            await Task.Delay(500);
            texts = await Level3Async();
            Assert.True(texts.Count == 1, $"{person.Key}: {texts.Count} level-3 messages");
            Assert.True(IsLevel3(texts[0], person.Language), $"{person.Key}: not in {person.Language}: {texts[0]}");
        }

        foreach (var company in scenario.Companies.Where(c => c.ExpectsAdvisory))
        {
            var token = CrisisSystem.As(scenario.System.Token(Roles.CompanySecurity, $"security-{company.CompanyId}", companyId: company.CompanyId));
            List<Advisory> down = [];
            await Eventually.TrueAsync(async () =>
            {
                var list = await scenario.Advisories.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = company.CompanyId, PageSize = 100 }, token);
                down = [.. list.Advisories.Where(a => a.Cause == AdvisoryCause.LevelChanged && a.NewLevel == ThreatLevel.AvoidNonEssential && a.PreviousLevel == ThreatLevel.DoNotTravel)];
                return down.Count > 0;
            }, TimeSpan.FromMinutes(2), company.CompanyId);
            var advisory = Assert.Single(down);
            Assert.Equal(company.ExpectedSites.Order(), advisory.AffectedSites.Select(s => s.Reference).Order());
        }
    }
}
