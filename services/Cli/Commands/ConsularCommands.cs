using System.CommandLine;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

using static Dcis.Crisis.Cli.Commands.CliFormat;

namespace Dcis.Crisis.Cli.Commands;

/// <summary>
/// Consular liaison: <c>crisis posts</c>, <c>crisis registrants register|trip|show|erase</c>,
/// <c>crisis presence</c>, <c>crisis alerts issue|update|cancel|status|cap</c>,
/// <c>crisis wellbeing start|answer|status</c>.
/// </summary>
internal static class ConsularCommands
{
    public static IEnumerable<Command> BuildAll(CliContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        yield return Posts(ctx);
        yield return Registrants(ctx);
        yield return Presence(ctx);
        yield return Alerts(ctx);
        yield return Wellbeing(ctx);
    }

    private static ConsularService.ConsularServiceClient Client(CliContext ctx, ParseResult parse) => new(ctx.Channel(parse, ctx.ConsularUrl));

    private static Option<string> CountryOption() => new("--country") { Description = "ISO 3166-1 alpha-2 country code, e.g. ML.", Required = true };

    private static Option<string[]> ZonesOption() => new("--zone") { Description = "ISO 3166-2 subdivision code(s), e.g. ML-BKO (repeatable).", AllowMultipleArgumentsPerToken = true };

    private static Area AreaOf(ParseResult parse, Option<string> country, Option<string[]> zones) =>
        new() { CountryCode = parse.GetValue(country)!.ToUpperInvariant(), SubdivisionCodes = { parse.GetValue(zones) ?? [] } };

    private static Command Posts(CliContext ctx)
    {
        var country = new Option<string?>("--country") { Description = "Only posts covering this country." };
        var command = new Command("posts", "Embassies and consulates with their jurisdictions.") { country };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListPostsAsync(new ListPostsRequest { CountryCode = parse.GetValue(country)?.ToUpperInvariant() ?? string.Empty, PageSize = 500 }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["POST", "KIND", "CITY", "JURISDICTION", "DUTY OFFICER"], response.Posts.Select(p => new[]
            {
                p.PostId, p.Kind.ToString(), p.City,
                string.Join(' ', p.Jurisdictions.Select(j => j.SubdivisionCodes.Count == 0 ? j.CountryCode : string.Join(',', j.SubdivisionCodes))),
                p.DutyOfficerContact,
            })));
        }));
        return command;
    }

    private static Command Registrants(CliContext ctx)
    {
        var command = new Command("registrants", "The registry of residents and travellers (officers of the post, or the registrant).");
        command.Subcommands.Add(Register(ctx));
        command.Subcommands.Add(Trip(ctx));
        command.Subcommands.Add(Show(ctx));
        command.Subcommands.Add(Erase(ctx));
        return command;
    }

    private static Command Register(CliContext ctx)
    {
        var name = new Option<string>("--name") { Description = "Full name.", Required = true };
        var home = new Option<string?>("--home") { Description = "Country of residence (resident), e.g. ML." };
        var homeZone = new Option<string?>("--home-zone") { Description = "Subdivision of residence, e.g. ML-BKO." };
        var email = new Option<string?>("--email") { Description = "E-mail address." };
        var mobile = new Option<string?>("--mobile") { Description = "Mobile in E.164, e.g. +22376543210." };
        var app = new Option<bool>("--app-inbox") { Description = "Uses the app inbox." };
        var preferred = new Option<Channel>("--preferred") { Description = "Preferred channel: Email, Sms or AppInbox (default: the first they have)." };
        var language = new Option<Language>("--language") { Description = "Fr or En.", DefaultValueFactory = _ => Language.Fr };
        var household = new Option<int>("--household") { Description = "Household size.", DefaultValueFactory = _ => 1 };
        var tripCountry = new Option<string?>("--trip-country") { Description = "Traveller: country of a first trip leg." };
        var from = new Option<string?>("--from") { Description = "Trip leg first day, yyyy-MM-dd." };
        var to = new Option<string?>("--to") { Description = "Trip leg last day, yyyy-MM-dd." };
        var command = new Command("register", "Registers a person (resident with --home, traveller with --trip-country/--from/--to, or both).")
        {
            name, home, homeZone, email, mobile, app, preferred, language, household, tripCountry, from, to,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var r = new Registrant
            {
                FullName = parse.GetValue(name)!,
                Email = parse.GetValue(email) ?? string.Empty,
                Mobile = parse.GetValue(mobile) ?? string.Empty,
                AppInbox = parse.GetValue(app),
                PreferredChannel = parse.GetValue(preferred),
                Language = parse.GetValue(language),
                HouseholdSize = parse.GetValue(household),
                ConsentTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            };
            if (parse.GetValue(home) is { Length: > 0 } h)
            {
                r.Home = new HomeArea { CountryCode = h.ToUpperInvariant(), SubdivisionCode = parse.GetValue(homeZone) ?? string.Empty };
            }

            if (parse.GetValue(tripCountry) is { Length: > 0 } c)
            {
                r.Trips.Add(new TripLeg { CountryCode = c.ToUpperInvariant(), FromDate = parse.GetValue(from) ?? string.Empty, ToDate = parse.GetValue(to) ?? string.Empty });
            }

            var response = await Client(ctx, parse).RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = r }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["REGISTRANT", "KIND"], [[response.Registrant.RegistrantId, response.Registrant.Kind.ToString()]]));
        }));
        return command;
    }

    private static Command Trip(CliContext ctx)
    {
        var id = new Argument<string>("REGISTRANT") { Description = "Registrant id." };
        var country = CountryOption();
        var zone = new Option<string?>("--zone") { Description = "Subdivision, e.g. NP-P3." };
        var city = new Option<string?>("--city") { Description = "City." };
        var from = new Option<string>("--from") { Description = "First day, yyyy-MM-dd.", Required = true };
        var to = new Option<string>("--to") { Description = "Last day, yyyy-MM-dd.", Required = true };
        var command = new Command("trip", "Adds a trip leg.") { id, country, zone, city, from, to };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).AddTripAsync(new AddTripRequest
            {
                RegistrantId = parse.GetValue(id)!,
                Leg = new TripLeg
                {
                    CountryCode = parse.GetValue(country)!.ToUpperInvariant(),
                    SubdivisionCode = parse.GetValue(zone) ?? string.Empty,
                    City = parse.GetValue(city) ?? string.Empty,
                    FromDate = parse.GetValue(from)!,
                    ToDate = parse.GetValue(to)!,
                },
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["TRIP", "COUNTRY", "FROM", "TO"], response.Registrant.Trips.Select(t => new[] { t.TripId, t.CountryCode, t.FromDate, t.ToDate })));
        }));
        return command;
    }

    private static Command Show(CliContext ctx)
    {
        var id = new Argument<string>("REGISTRANT") { Description = "Registrant id." };
        var command = new Command("show", "Shows a registrant (personal data: officers of the post or the person).") { id };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var r = (await Client(ctx, parse).GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = parse.GetValue(id)! }, cancellationToken: ct)).Registrant;
            ctx.Print(parse, r, _ => (["FIELD", "VALUE"],
            [
                ["id", r.RegistrantId], ["kind", r.Kind.ToString()], ["name", r.FullName], ["home", r.Home?.CountryCode ?? string.Empty],
                ["trips", string.Join(' ', r.Trips.Select(t => $"{t.CountryCode}:{t.FromDate}..{t.ToDate}"))],
                ["channels", $"{r.PreferredChannel} first; email={r.Email} mobile={r.Mobile} app={r.AppInbox}"], ["language", r.Language.ToString()],
            ]));
        }));
        return command;
    }

    private static Command Erase(CliContext ctx)
    {
        var id = new Argument<string>("REGISTRANT") { Description = "Registrant id." };
        var reason = new Option<string>("--reason") { Description = "Why (deregistration, erasure request).", DefaultValueFactory = _ => "erasure request" };
        var command = new Command("erase", "Erases a person everywhere (registry, alerts, checks, pending messages).") { id, reason };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).EraseRegistrantAsync(new EraseRegistrantRequest { RegistrantId = parse.GetValue(id)!, Reason = parse.GetValue(reason)! }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["ROWS REMOVED"], [[Num(response.RowsRemoved)]]));
        }));
        return command;
    }

    private static Command Presence(CliContext ctx)
    {
        var country = CountryOption();
        var zones = ZonesOption();
        var arriving = new Option<int>("--arriving-within") { Description = "Also people arriving within N days (0 to 90)." };
        var list = new Option<bool>("--list") { Description = "List people (officers) instead of counts per post." };
        var command = new Command("presence", "Who is present in an area now: counts per post, or the streamed list (--list).") { country, zones, arriving, list };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var area = AreaOf(parse, country, zones);
            if (!parse.GetValue(list))
            {
                var counts = await client.CountPresenceAsync(new CountPresenceRequest { Area = area, ArrivingWithinDays = parse.GetValue(arriving) }, cancellationToken: ct);
                ctx.Print(parse, counts, _ => (["POST", "PRESENT", "ARRIVING"],
                    counts.Posts.Select(p => new[] { p.PostId, Num(p.Present), Num(p.Arriving) }).Append(["total", Num(counts.TotalPresent), Num(counts.TotalArriving)])));
                return;
            }

            using var call = client.StreamPresence(new StreamPresenceRequest { Area = area, ArrivingWithinDays = parse.GetValue(arriving) }, cancellationToken: ct);
            CliContext.WriteTable(["REGISTRANT", "NAME", "PRESENCE", "POST", "ARRIVING", "HOUSEHOLD"], []);
            await foreach (var batch in call.ResponseStream.ReadAllAsync(ct))
            {
                foreach (var p in batch.People)
                {
                    Console.WriteLine(string.Join("  ", p.RegistrantId, p.FullName, p.Presence, p.PostId, p.Arriving ? "yes" : "no", Num(p.HouseholdSize)));
                }
            }
        }));
        return command;
    }

    private static Command Alerts(CliContext ctx)
    {
        var command = new Command("alerts", "Consular alerts (CAP semantics: Alert, Update, Cancel).");
        var country = CountryOption();
        var zones = ZonesOption();
        var headlineFr = new Option<string?>("--headline-fr") { Description = "Headline in French." };
        var headlineEn = new Option<string?>("--headline-en") { Description = "Headline in English." };
        var bodyFr = new Option<string?>("--body-fr") { Description = "Body in French." };
        var bodyEn = new Option<string?>("--body-en") { Description = "Body in English." };
        var hours = new Option<int>("--expires-in-hours") { Description = "Expiry from now, in hours.", DefaultValueFactory = _ => 24 };
        var arriving = new Option<int>("--arriving-within") { Description = "Also people arriving within N days." };
        var issue = new Command("issue", "Issues an alert to everyone present in an area of your post's jurisdiction.")
        {
            country, zones, headlineFr, headlineEn, bodyFr, bodyEn, hours, arriving,
        };
        issue.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).IssueAlertAsync(new IssueAlertRequest
            {
                Area = AreaOf(parse, country, zones),
                Headline = new LocalizedText { Fr = parse.GetValue(headlineFr) ?? string.Empty, En = parse.GetValue(headlineEn) ?? string.Empty },
                Body = new LocalizedText { Fr = parse.GetValue(bodyFr) ?? string.Empty, En = parse.GetValue(bodyEn) ?? string.Empty },
                ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(parse.GetValue(hours))),
                ArrivingWithinDays = parse.GetValue(arriving),
            }, cancellationToken: ct);
            PrintAlert(ctx, parse, response, response.Alert);
        }));
        command.Subcommands.Add(issue);

        var updateId = new Argument<string>("ALERT") { Description = "Alert id." };
        var update = new Command("update", "Issues an update of an alert (same area, new text).") { updateId, headlineFr, headlineEn, bodyFr, bodyEn };
        update.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).UpdateAlertAsync(new UpdateAlertRequest
            {
                AlertId = parse.GetValue(updateId)!,
                Headline = new LocalizedText { Fr = parse.GetValue(headlineFr) ?? string.Empty, En = parse.GetValue(headlineEn) ?? string.Empty },
                Body = new LocalizedText { Fr = parse.GetValue(bodyFr) ?? string.Empty, En = parse.GetValue(bodyEn) ?? string.Empty },
            }, cancellationToken: ct);
            PrintAlert(ctx, parse, response, response.Alert);
        }));
        command.Subcommands.Add(update);

        var cancelId = new Argument<string>("ALERT") { Description = "Alert id." };
        var reason = new Option<string>("--reason") { Description = "Why.", Required = true };
        var cancel = new Command("cancel", "Cancels an alert: undelivered messages are dropped.") { cancelId, reason };
        cancel.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).CancelAlertAsync(new CancelAlertRequest { AlertId = parse.GetValue(cancelId)!, Reason = parse.GetValue(reason)! }, cancellationToken: ct);
            PrintAlert(ctx, parse, response, response.Alert);
        }));
        command.Subcommands.Add(cancel);

        var statusId = new Argument<string>("ALERT") { Description = "Alert id." };
        var version = new Option<long>("--version") { Description = "Version (default: latest)." };
        var status = new Command("status", "Delivery counts of an alert version.") { statusId, version };
        status.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = parse.GetValue(statusId)!, Version = parse.GetValue(version) }, cancellationToken: ct);
            PrintAlert(ctx, parse, response, response.Alert);
        }));
        command.Subcommands.Add(status);

        var limit = new Option<int>("--limit") { Description = "Most alerts listed, newest first.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Alerts you may see, newest first, at their latest version (no counts: see alerts status).") { limit };
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var wanted = Math.Max(1, parse.GetValue(limit));
            var all = new ListAlertsResponse();
            var request = new ListAlertsRequest { PageSize = Math.Min(wanted, 500) };
            do
            {
                var page = await client.ListAlertsAsync(request, cancellationToken: ct);
                all.Alerts.AddRange(page.Alerts.Take(wanted - all.Alerts.Count));
                request.PageToken = NextToken(request.PageToken, page.NextPageToken);
            }
            while (request.PageToken.Length > 0 && all.Alerts.Count < wanted);

            ctx.Print(parse, all, _ => (["ALERT", "VERSION", "TYPE", "STATE", "POST", "AREA", "LEVEL", "ISSUED", "EXPIRES", "HEADLINE"],
                all.Alerts.Select(a => new[]
                {
                    a.AlertId, Num(a.Version), a.MessageType.ToString(), a.State.ToString(), a.PostId, AreaText(a.Area), Level(a.Level),
                    Time(a.IssuedAt), Time(a.ExpiresAt), OneLine(Text(a.Headline)),
                })));
        }));
        command.Subcommands.Add(list);

        var capId = new Argument<string>("ALERT") { Description = "Alert id." };
        var capVersion = new Option<long>("--version") { Description = "Version (default: latest)." };
        var cap = new Command("cap", "Prints an alert version as CAP 1.2 XML.") { capId, capVersion };
        cap.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ExportAlertCapAsync(new ExportAlertCapRequest { AlertId = parse.GetValue(capId)!, Version = parse.GetValue(capVersion) }, cancellationToken: ct);
            Console.WriteLine(response.CapXml);
        }));
        command.Subcommands.Add(cap);
        return command;
    }

    private static void PrintAlert(CliContext ctx, ParseResult parse, Google.Protobuf.IMessage response, Alert a) =>
        ctx.Print(parse, response, _ => (["ALERT", "VERSION", "TYPE", "STATE", "POST", "TARGETED", "SENT", "DELIVERED", "FAILED", "READ", "DROPPED"],
        [[
            a.AlertId, Num(a.Version), a.MessageType.ToString(), a.State.ToString(), a.PostId, Num(a.Counts?.Targeted ?? 0), Num(a.Counts?.Sent ?? 0),
            Num(a.Counts?.Delivered ?? 0), Num(a.Counts?.Failed ?? 0), Num(a.Counts?.Read ?? 0), Num(a.Counts?.Dropped ?? 0),
        ]]));

    private static Command Wellbeing(CliContext ctx)
    {
        var command = new Command("wellbeing", "Wellbeing checks (are you safe?).");
        var country = CountryOption();
        var zones = ZonesOption();
        var remind = new Option<int>("--remind-after-hours") { Description = "Hours before the reminder (default 2)." };
        var follow = new Option<int>("--follow-up-after-hours") { Description = "Hours before follow-up (default 6)." };
        var start = new Command("start", "Asks everyone present in an area whether they are safe.") { country, zones, remind, follow };
        start.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).StartWellbeingCheckAsync(new StartWellbeingCheckRequest
            {
                Area = AreaOf(parse, country, zones),
                RemindAfterHours = parse.GetValue(remind),
                FollowUpAfterHours = parse.GetValue(follow),
            }, cancellationToken: ct);
            PrintCheck(ctx, parse, response, response.Check);
        }));
        command.Subcommands.Add(start);

        var check = new Option<string?>("--check") { Description = "Check id (with a registrant token, or an officer with --registrant)." };
        var code = new Option<string?>("--code") { Description = "Reply code received by SMS or e-mail." };
        var registrant = new Option<string?>("--registrant") { Description = "Registrant id (officer recording an answer)." };
        var answer = new Option<WellbeingAnswer>("--answer") { Description = "Safe or NeedHelp.", Required = true };
        var text = new Option<string?>("--text") { Description = "Optional free text." };
        var answerCommand = new Command("answer", "Records an answer.") { check, code, registrant, answer, text };
        answerCommand.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest
            {
                CheckId = parse.GetValue(check) ?? string.Empty,
                ReplyCode = parse.GetValue(code) ?? string.Empty,
                RegistrantId = parse.GetValue(registrant) ?? string.Empty,
                Answer = parse.GetValue(answer),
                Text = parse.GetValue(text) ?? string.Empty,
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["CASE REFERENCE"], [[response.CaseReference]]));
        }));
        command.Subcommands.Add(answerCommand);

        var statusId = new Argument<string>("CHECK") { Description = "Check id." };
        var status = new Command("status", "Live counts per post of a check.") { statusId };
        status.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).GetWellbeingStatusAsync(new GetWellbeingStatusRequest { CheckId = parse.GetValue(statusId)! }, cancellationToken: ct);
            PrintCheck(ctx, parse, response, response.Check);
        }));
        command.Subcommands.Add(status);
        return command;
    }

    private static void PrintCheck(CliContext ctx, ParseResult parse, Google.Protobuf.IMessage response, WellbeingCheck c) =>
        ctx.Print(parse, response, _ => (["CHECK", "POST", "TARGETED", "SAFE", "NEED HELP", "NO ANSWER", "REMINDED", "FOLLOW-UP"],
            c.Posts.Select(p => new[] { c.CheckId, p.PostId, Num(p.Targeted), Num(p.Safe), Num(p.NeedHelp), Num(p.NoAnswer), Num(p.Reminded), Num(p.FollowUp) })
                .DefaultIfEmpty([c.CheckId, c.PostId, "0", "0", "0", "0", "0", "0"])));
}
