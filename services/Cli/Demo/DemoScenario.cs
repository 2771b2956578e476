using System.Diagnostics;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dcis.Crisis.Cli.Demo;

/// <summary>Figures the scenario measured, printed at the end and read by whoever runs it. Sent counts every message handed
/// to a provider or the app; Confirmed those a provider's receipt or the app then reported delivered (or read).</summary>
internal sealed record DemoFigures(long RecipientsTargeted, long Sent, long Confirmed, TimeSpan? FirstSent, TimeSpan? LastSent, int Advisories, int WellbeingAnswers);

/// <summary>The consular alert's delivery as the scenario saw it.</summary>
internal sealed record AlertFigures(long Targeted, long Sent, long Confirmed, TimeSpan? FirstSent, TimeSpan? LastSent);

/// <summary>
/// The crisis the dashboard shows: an attaché proposes level 4, an analyst approves, a crisis is
/// declared in the capital, alerts and wellbeing checks go out, people answer, companies receive
/// and acknowledge advisories, the crisis closes and the level comes down to 3.
/// </summary>
internal sealed class DemoScenario(DemoClients clients, DemoTokens tokens, DemoRecord seed, TextWriter log)
{
    public async Task<DemoFigures> RunAsync(string country, CancellationToken ct)
    {
        var capital = DemoWorld.Capitals.First(c => c.CountryCode == country);
        var analyst = DemoClients.As(tokens.Analyst("analyst-claire"), ct);
        var secondAnalyst = DemoClients.As(tokens.Analyst("analyst-marc"), ct);

        var current = (await clients.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = country }, analyst)).Assessment;
        if (current.Level == ThreatLevel.DoNotTravel)
        {
            // A previous run left it at 4: bring it back to 3 so the scenario raises it again.
            current = (await clients.ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
            {
                Assessment = new AssessmentDraft
                {
                    AssessmentId = country, Area = current.Area, Level = ThreatLevel.AvoidNonEssential, Categories = { current.Categories },
                    Summary = current.Summary, Advice = current.Advice, EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                    Reason = "Remise à niveau avant la démonstration", ExpectedVersion = current.Version,
                },
            }, analyst)).Assessment;
        }

        Step($"1. {country} is at {current.Level} (version {current.Version}); the attaché proposes level 4");
        var proposal = await clients.ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft
            {
                AssessmentId = country,
                Area = new Area { CountryCode = country },
                Level = ThreatLevel.DoNotTravel,
                Categories =
                {
                    new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Severe },
                    new CategoryRating { Category = ThreatCategory.ArmedConflict, Severity = Severity.High },
                    new CategoryRating { Category = ThreatCategory.CivilUnrest, Severity = Severity.High },
                },
                Summary = new LocalizedText { Fr = $"Attaques armées à {capital.Name} ; la situation se dégrade rapidement.", En = $"Armed attacks in {capital.Name}; the situation is deteriorating fast." },
                Advice = new LocalizedText { Fr = "Restez chez vous, évitez tout déplacement et signalez-vous auprès de l'ambassade.", En = "Stay at home, avoid all travel and check in with the embassy." },
                EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Attaques coordonnées dans la capitale",
                ExpectedVersion = current.Version,
            },
        }, DemoClients.As(tokens.Attache(country), ct));
        Step($"   proposal {proposal.Proposal.ProposalId}: {proposal.Outcome}");

        var approved = await clients.ThreatLevels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.Proposal.ProposalId, Note = "Confirmé par la cellule de crise" }, secondAnalyst);
        var approvedAt = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        Step($"2. analyst-marc approved: {country} now {approved.Assessment.Level} (version {approved.Assessment.Version})");

        var declared = await clients.ThreatLevels.DeclareCrisisAsync(new DeclareCrisisRequest
        {
            Crisis = new CrisisDraft
            {
                Kind = CrisisKind.Attack,
                Area = new Area
                {
                    CountryCode = country,
                    Circle = new Circle { Center = new LatLng { Latitude = capital.Latitude, Longitude = capital.Longitude }, RadiusMeters = 25_000 },
                    ZoneName = capital.Name,
                },
                Title = new LocalizedText { Fr = $"Attaques à {capital.Name}", En = $"Attacks in {capital.Name}" },
                Description = new LocalizedText { Fr = "Plusieurs attaques armées simultanées.", En = "Several simultaneous armed attacks." },
                StartTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Attaques en cours",
                StartWellbeingCheck = true,
            },
        }, analyst);
        var crisis = declared.Crisis;
        if (declared.Outcome == ChangeOutcome.Proposed)
        {
            crisis = (await clients.ThreatLevels.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = declared.Proposal.ProposalId }, secondAnalyst)).Crisis;
        }

        Step($"3. crisis {crisis.CrisisId} declared in {capital.Name} (25 km), wellbeing checks start");

        var delivery = await WaitForAlertAsync(country, approvedAt, ct);
        Step($"4. consular alert: {delivery.Targeted} recipients targeted, {delivery.Sent} sent (first after {Seconds(delivery.FirstSent)}, last after {Seconds(delivery.LastSent)} from approval), "
            + $"{delivery.Confirmed} confirmed delivered by an SMS or e-mail receipt or the app");

        var answers = await AnswerWellbeingAsync(country, approvedAt, ct);
        Step($"5. wellbeing: {answers} registrants answered (one needs help and is escalated to the duty officer)");

        var advisories = await CompaniesAsync(country, ct);
        Step($"6. advisories: {advisories} companies with sites or staff in {country} received one; the first acknowledged it");

        var closed = await clients.ThreatLevels.CloseCrisisAsync(new CloseCrisisRequest
        {
            CrisisId = crisis.CrisisId,
            ExpectedVersion = crisis.Version,
            Note = new LocalizedText { Fr = "Fin des attaques, retour au calme.", En = "Attacks over, calm restored." },
        }, analyst);
        var now = (await clients.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = country }, analyst)).Assessment;
        var lowered = await clients.ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft
            {
                AssessmentId = country,
                Area = new Area { CountryCode = country },
                Level = ThreatLevel.AvoidNonEssential,
                Categories = { now.Categories },
                Summary = new LocalizedText { Fr = "Situation stabilisée, vigilance maintenue.", En = "Situation stabilised, remain vigilant." },
                Advice = now.Advice,
                EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Reason = "Fin de la crise",
                ExpectedVersion = now.Version,
            },
        }, analyst);
        Step($"7. crisis {closed.Crisis.Status}; {country} lowered to {lowered.Assessment.Level} ({clock.Elapsed.TotalSeconds:F1} s since approval)");
        return new DemoFigures(delivery.Targeted, delivery.Sent, delivery.Confirmed, delivery.FirstSent, delivery.LastSent, advisories, answers);
    }

    private async Task<AlertFigures> WaitForAlertAsync(string country, DateTime since, CancellationToken ct)
    {
        var officer = DemoClients.As(tokens.Officer(PostOf(country)), ct);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        Dcis.Crisis.Consular.V1.Alert? alert = null;
        while (DateTime.UtcNow < deadline)
        {
            var alerts = await clients.Consular.ListAlertsAsync(new ListAlertsRequest { PageSize = 50 }, officer);
            alert = alerts.Alerts
                .Where(a => a.Area.CountryCode == country && a.IssuedAt.ToDateTime() >= since.AddSeconds(-5) && a.Level == ThreatLevel.DoNotTravel)
                .OrderBy(a => a.IssuedAt.ToDateTime())
                .FirstOrDefault();
            if (alert is not null)
            {
                // Lists carry no counts: the status call does.
                alert = (await clients.Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId }, officer)).Alert;
                if (alert.Counts is { Targeted: > 0 } c && c.Sent + c.Failed + c.Dropped >= c.Targeted)
                {
                    break;
                }
            }

            await Task.Delay(1000, ct);
        }

        if (alert is null)
        {
            return new AlertFigures(0, 0, 0, null, null);
        }

        // Receipts come a moment after the hand-over: wait while the confirmed count still rises (at most 10 s). Inbox
        // messages of people with no open app stay "sent", so it need not reach the sent count.
        var counts = alert.Counts ?? new DeliveryCounts();
        var settle = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < settle)
        {
            await Task.Delay(1000, ct);
            var now = (await clients.Consular.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId }, officer)).Alert.Counts ?? counts;
            var rising = now.Delivered > counts.Delivered;
            counts = now;
            if (!rising)
            {
                break;
            }
        }

        // Sent counts every message handed over, delivered and read ones included. The sent times are the first and last
        // moments a person could have been reached.
        return new AlertFigures(counts.Targeted, counts.Sent, counts.Delivered,
            counts.FirstSentAt is null ? null : counts.FirstSentAt.ToDateTime() - since,
            counts.LastSentAt is null ? null : counts.LastSentAt.ToDateTime() - since);
    }

    private async Task<int> AnswerWellbeingAsync(string country, DateTime since, CancellationToken ct)
    {
        var people = seed.People.Where(p => p.CountryCode == country && p.NearCapital && p.Preferred == "AppInbox").Take(6).ToList();
        var answered = 0;
        foreach (var person in people)
        {
            var options = DemoClients.As(tokens.Registrant(person.RegistrantId), TimeSpan.FromSeconds(60), ct);
            var code = await ReplyCodeAsync(options, since, ct);
            if (code is null)
            {
                continue;
            }

            var needHelp = answered == 0;
            await clients.Consular.AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest
            {
                ReplyCode = code,
                RegistrantId = person.RegistrantId,
                Answer = needHelp ? WellbeingAnswer.NeedHelp : WellbeingAnswer.Safe,
                Text = needHelp ? "Blessé léger, besoin d'assistance" : string.Empty,
            }, options);
            answered++;
        }

        return answered;
    }

    /// <summary>The reply code of this run's wellbeing check: the inbox stream starts with older messages, and a check of
    /// an earlier run is closed (answering it is refused).</summary>
    private async Task<string?> ReplyCodeAsync(CallOptions options, DateTime since, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        using var call = clients.Notifications.WatchInbox(new WatchInboxRequest(), options.WithCancellationToken(timeout.Token));
        try
        {
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                var message = call.ResponseStream.Current.Message;
                if (message is not null && !string.IsNullOrEmpty(message.ReplyCode) && message.CreatedAt.ToDateTime() >= since)
                {
                    return message.ReplyCode;
                }
            }
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded)
        {
            // No wellbeing message arrived in time for this person.
        }
        catch (OperationCanceledException)
        {
            // Same: the wait ended.
        }

        return null;
    }

    private async Task<int> CompaniesAsync(string country, CancellationToken ct)
    {
        var concerned = seed.Companies.Where(c => c.SiteCountries.Contains(country) || c.TravelCountries.Contains(country)).ToList();
        var received = 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        foreach (var company in concerned)
        {
            var options = DemoClients.As(tokens.Company(company.CompanyId), ct);
            while (true)
            {
                var list = await clients.Advisories.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = company.CompanyId, PageSize = 50 }, options);
                var advisory = list.Advisories.FirstOrDefault(a => a.Area.CountryCode == country && a.NewLevel == ThreatLevel.DoNotTravel);
                if (advisory is not null)
                {
                    if (received == 0)
                    {
                        await clients.Advisories.AcknowledgeAdvisoryAsync(new AcknowledgeAdvisoryRequest { CompanyId = company.CompanyId, AdvisoryId = advisory.AdvisoryId }, options);
                    }

                    received++;
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(500, ct);
            }
        }

        return received;
    }

    private static string PostOf(string country) => country switch
    {
        "ML" => "post-bamako",
        _ => $"post-{DemoWorld.Capitals.First(c => c.CountryCode == country).Name.ToLowerInvariant()}",
    };

    private static string Seconds(TimeSpan? span) => span is null ? "n/a" : $"{span.Value.TotalSeconds:F2} s";

    private void Step(string text) => log.WriteLine(text);
}
