using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf;
using Grpc.Core;
using CrisisRecord = Dcis.Crisis.ThreatLevels.V1.Crisis;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

using static Dcis.Crisis.Cli.Commands.CliFormat;

namespace Dcis.Crisis.Cli.Commands;

/// <summary>
/// Threat levels (analysts, attachés, readers): <c>crisis levels get|list|set|history|watch|due</c>,
/// <c>crisis approvals list|approve|reject</c> and <c>crisis crises declare|close|list</c>.
/// </summary>
internal static class ThreatLevelsCommands
{
    private const string LevelChoices = "1-4 or normal|increased|avoid-non-essential|do-not-travel";

    /// <summary>Every top-level command of the threat-levels area.</summary>
    public static IEnumerable<Command> BuildAll(CliContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        yield return Levels(ctx);
        yield return Approvals(ctx);
        yield return Crises(ctx);
    }

    private static ThreatLevelsService.ThreatLevelsServiceClient Client(CliContext ctx, ParseResult parse) => new(ctx.Channel(parse, ctx.ThreatLevelsUrl));

    private static bool IsJson(CliContext ctx, ParseResult parse) => parse.GetValue(ctx.Output) == OutputFormat.Json;

    // ----- crisis levels -----

    private static Command Levels(CliContext ctx)
    {
        var command = new Command("levels", "Country and zone threat levels: show, list, set, history, watch, reviews due.");
        foreach (var c in new[] { LevelsGet(ctx), LevelsList(ctx), LevelsSet(ctx), LevelsHistory(ctx), LevelsWatch(ctx), LevelsDue(ctx) })
        {
            command.Subcommands.Add(c);
        }

        return command;
    }

    private static Argument<string> TargetArgument() => new("CC|ASSESSMENT_ID")
    {
        Description = "Country code (ML) or zone assessment id (ML/zone/3f2a9c1e).",
    };

    private static Command LevelsGet(CliContext ctx)
    {
        var target = TargetArgument();
        var lat = new Option<double?>("--lat") { Description = "Latitude of a point in the country: also show the effective level there." };
        var lon = new Option<double?>("--lon") { Description = "Longitude of the point." };
        var command = new Command("get", "Show an assessment; with --lat/--lon, also the effective level at that point.") { target, lat, lon };
        command.Validators.Add(r =>
        {
            if (r.GetValue(lat).HasValue != r.GetValue(lon).HasValue)
            {
                r.AddError("--lat and --lon go together.");
            }
        });
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var id = AssessmentId(parse.GetValue(target)!);
            var response = await client.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = id }, cancellationToken: ct);
            ctx.Print(parse, response, _ => Details(response.Assessment));
            if (parse.GetValue(lat) is not { } la || parse.GetValue(lon) is not { } lo)
            {
                return;
            }

            var effective = await client.GetEffectiveLevelAsync(new GetEffectiveLevelRequest
            {
                Point = new PointTarget { CountryCode = CountryOf(id), Location = new LatLng { Latitude = la, Longitude = lo } },
            }, cancellationToken: ct);
            if (!IsJson(ctx, parse))
            {
                Console.WriteLine();
            }

            ctx.Print(parse, effective, _ => (["POINT", "EFFECTIVE LEVEL", "SOURCE", "FROM", "COUNTRY LEVEL"],
                [[Point(la, lo), Level(effective.Level), Kebab(effective.Source), effective.Assessment?.AssessmentId ?? "-", Level(effective.CountryLevel)]]));
        }));
        return command;
    }

    private static Command LevelsList(CliContext ctx)
    {
        var country = new Option<string?>("--country") { Description = "Only this country and its zones, e.g. ML." };
        var minLevel = LevelOption("--min-level", $"Only assessments at or above this level: {LevelChoices}.", required: false);
        var command = new Command("list", "List current country and zone assessments (every page).") { country, minLevel };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var request = new ListAssessmentsRequest
            {
                PageSize = 500, CountryCode = parse.GetValue(country)?.ToUpperInvariant() ?? string.Empty, MinLevel = parse.GetValue(minLevel),
            };
            var all = new ListAssessmentsResponse();
            do
            {
                var page = await client.ListAssessmentsAsync(request, cancellationToken: ct);
                all.Assessments.AddRange(page.Assessments);
                all.LatestSequence = page.LatestSequence;
                request.PageToken = NextToken(request.PageToken, page.NextPageToken);
            }
            while (request.PageToken.Length > 0);

            ctx.Print(parse, all, _ => (["ASSESSMENT", "AREA", "LEVEL", "VERSION", "EFFECTIVE", "REVIEW BY", "CATEGORIES"],
                all.Assessments.Select(a => new[]
                {
                    a.AssessmentId, AreaText(a.Area), Level(a.Level), Num(a.Version), Time(a.EffectiveTime), Date(a.ReviewBy), Categories(a.Categories),
                })));
        }));
        return command;
    }

    private static Command LevelsSet(CliContext ctx)
    {
        var target = TargetArgument();
        var level = LevelOption("--level", $"The new level: {LevelChoices}; 'retire' for a zone id: its places read the country's level again.", required: true);
        level.CustomParser = r => r.Tokens.Count > 0 && Norm(r.Tokens[^1].Value) == "retire"
            ? ThreatLevel.Unspecified
            : ParseOne(r, ParseLevel, "level", LevelChoices + "|retire");
        var reason = new Option<string>("--reason") { Description = "Why the change is made (at most 500 characters).", Required = true };
        var effectiveTime = new Option<DateTimeOffset?>("--effective-time")
        {
            Description = "When the change takes effect, ISO 8601 (default: now). It is recorded and announced at once; effective-level queries count it from then.",
        };
        var categories = new Option<CategoryRating[]>("--category")
        {
            Description = "Threat rating as category:severity, e.g. terrorism:severe civil-unrest:high (repeatable; replaces the current ratings, "
                + "'none' clears them; default: keep them). Severity: low|moderate|high|severe or 1-4.",
            HelpName = "category:severity",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = ParseCategories,
        };
        var summaryFr = new Option<string?>("--summary-fr") { Description = "Situation summary in French (default: keep the current one)." };
        var summaryEn = new Option<string?>("--summary-en") { Description = "Situation summary in English (default: keep the current one)." };
        var adviceFr = new Option<string?>("--advice-fr") { Description = "Advice to travellers in French (default: keep the current one)." };
        var adviceEn = new Option<string?>("--advice-en") { Description = "Advice to travellers in English (default: keep the current one)." };
        var emergency = new Option<bool>("--emergency") { Description = "Apply at once as an emergency, without a second analyst (recorded)." };
        var subdivisions = new Option<string[]>("--subdivision")
        {
            Description = "ISO 3166-2 code(s), e.g. ML-7 ML-8: with a country code, creates a new zone; with a zone id, re-draws it (repeatable).",
            AllowMultipleArgumentsPerToken = true,
        };
        var zoneName = new Option<string?>("--zone-name") { Description = "Short name of the zone, e.g. \"Nord du Mali\"." };
        var expectedVersion = new Option<long?>("--expected-version")
        {
            Description = "Version the change is based on (default: the current version, read first; 0 for a new assessment).",
        };
        var command = new Command("set", "Set a country or zone level: applied at once, or PROPOSED for a second analyst (raising to 4, attachés).")
        {
            target, level, reason, effectiveTime, categories, summaryFr, summaryEn, adviceFr, adviceEn, emergency, subdivisions, zoneName, expectedVersion,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var id = AssessmentId(parse.GetValue(target)!);
            var country = CountryOf(id);
            var codes = (parse.GetValue(subdivisions) ?? []).Select(s => s.ToUpperInvariant()).ToArray();
            var isZoneId = id.Contains('/', StringComparison.Ordinal);
            var newZone = codes.Length > 0 && !isZoneId;

            // The draft replaces the assessment: read the current one for its version and for the fields not given.
            Assessment? current = null;
            if (!newZone)
            {
                try
                {
                    current = (await client.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = id }, cancellationToken: ct)).Assessment;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound && !isZoneId)
                {
                    // First assessment of the country.
                }
            }

            var draft = new AssessmentDraft
            {
                AssessmentId = newZone ? string.Empty : id,
                Area = current?.Area?.Clone() ?? new Area { CountryCode = country },
                Level = parse.GetValue(level),
                Summary = new LocalizedText
                {
                    Fr = parse.GetValue(summaryFr) ?? current?.Summary?.Fr ?? string.Empty,
                    En = parse.GetValue(summaryEn) ?? current?.Summary?.En ?? string.Empty,
                },
                Advice = new LocalizedText
                {
                    Fr = parse.GetValue(adviceFr) ?? current?.Advice?.Fr ?? string.Empty,
                    En = parse.GetValue(adviceEn) ?? current?.Advice?.En ?? string.Empty,
                },
                Reason = parse.GetValue(reason)!,
                Emergency = parse.GetValue(emergency),
                ExpectedVersion = parse.GetValue(expectedVersion) ?? current?.Version ?? 0,
            };
            if (parse.GetValue(effectiveTime) is { } at)
            {
                draft.EffectiveTime = Timestamp.FromDateTimeOffset(at);
            }

            if (codes.Length > 0)
            {
                draft.Area = new Area { CountryCode = country, SubdivisionCodes = { codes }, ZoneName = draft.Area.ZoneName };
            }

            if (parse.GetValue(zoneName) is { } name && (isZoneId || newZone))
            {
                draft.Area.ZoneName = name;
            }

            if (parse.GetResult(categories) is not null)
            {
                draft.Categories.AddRange(parse.GetValue(categories) ?? []);
            }
            else if (current is not null)
            {
                draft.Categories.AddRange(current.Categories);
            }

            var response = await client.SetAssessmentAsync(new SetAssessmentRequest { Assessment = draft }, cancellationToken: ct);
            ctx.Print(parse, response, _ =>
            {
                if (response.Outcome == ChangeOutcome.Proposed)
                {
                    var p = response.Proposal;
                    return (["OUTCOME", "PROPOSAL", "ASSESSMENT", "LEVEL", "STATUS"],
                        [["PROPOSED", p.ProposalId, NonEmpty(p.Assessment?.AssessmentId, $"{country} (new zone)"), Level(draft.Level), Kebab(p.Status)]]);
                }

                var a = response.Assessment;
                return (["OUTCOME", "ASSESSMENT", "LEVEL", "VERSION", "CHANGE", "SEQ", "APPROVAL"],
                    [[Kebab(response.Outcome).ToUpperInvariant(), a?.AssessmentId ?? "-", Level(a?.Level ?? draft.Level), Num(a?.Version ?? 0),
                        response.Change?.ChangeId ?? "-", Num(response.Change?.Sequence ?? 0), a is null ? "-" : Approval(a.ApprovalMode, a.ApprovedBy)]]);
            });
            if (response.Outcome == ChangeOutcome.Proposed && !IsJson(ctx, parse))
            {
                Console.WriteLine($"Waiting for a second analyst: crisis approvals approve {response.Proposal.ProposalId}");
            }
        }));
        return command;
    }

    private static Command LevelsHistory(CliContext ctx)
    {
        var target = TargetArgument();
        target.Description = "Country code (the country and all its zones) or an assessment id (that assessment only).";
        var pageSize = new Option<int>("--page-size") { Description = "Changes per page (at most 500).", DefaultValueFactory = _ => 20 };
        var pageToken = new Option<string?>("--page-token") { Description = "Token of the next (older) page, from a previous call." };
        var command = new Command("history", "Changes of a country or an assessment, newest first.") { target, pageSize, pageToken };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var id = AssessmentId(parse.GetValue(target)!);
            var request = new GetHistoryRequest { PageSize = parse.GetValue(pageSize), PageToken = parse.GetValue(pageToken) ?? string.Empty };
            if (id.Contains('/', StringComparison.Ordinal))
            {
                request.AssessmentId = id;
            }
            else
            {
                request.CountryCode = id;
            }

            var response = await Client(ctx, parse).GetHistoryAsync(request, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["SEQ", "WHEN", "ASSESSMENT", "VERSION", "LEVEL", "APPROVAL", "AUTHOR", "REASON"],
                response.Changes.Select(c => new[]
                {
                    Num(c.Sequence), Time(c.Assessment?.UpdatedAt), c.AssessmentId, Num(c.Version), LevelChange(c.PreviousLevel, c.Assessment?.Level ?? ThreatLevel.Unspecified),
                    c.Assessment is null ? "-" : Approval(c.Assessment.ApprovalMode, c.Assessment.ApprovedBy), c.Assessment?.Author ?? "-", OneLine(c.Assessment?.Reason),
                })));
            if (response.NextPageToken.Length > 0 && !IsJson(ctx, parse))
            {
                Console.Error.WriteLine($"older changes: --page-token {response.NextPageToken}");
            }
        }));
        return command;
    }

    private static Command LevelsWatch(CliContext ctx)
    {
        var after = new Option<long>("--after") { Description = "Resume after this sequence (0: the whole history first)." };
        var countries = new Option<string[]>("--country") { Description = "Only these countries, e.g. ML NE (repeatable).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("watch", "Stream level changes: history after --after, then live, one line each; heartbeats as dots on stderr (Ctrl+C to stop).")
        {
            after, countries,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var request = new WatchChangesRequest { AfterSequence = parse.GetValue(after) };
            request.CountryCodes.AddRange((parse.GetValue(countries) ?? []).Select(c => c.ToUpperInvariant()));
            var json = IsJson(ctx, parse);
            var dots = false;
            using var call = Client(ctx, parse).WatchChanges(request, cancellationToken: ct);
            try
            {
                await foreach (var item in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (item.Change is not { } c)
                    {
                        if (!json)
                        {
                            Console.Error.Write('.');
                            dots = true;
                        }

                        continue;
                    }

                    if (dots)
                    {
                        Console.Error.WriteLine();
                        dots = false;
                    }

                    Console.WriteLine(json ? JsonFormatter.Default.Format(c) : ChangeLine(c));
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                // Ctrl+C.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C.
            }
        }));
        return command;
    }

    private static Command LevelsDue(CliContext ctx)
    {
        var command = new Command("due", "Assessments past their review-by date, oldest due first.");
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var request = new ListDueForReviewRequest { PageSize = 500 };
            var all = new ListDueForReviewResponse();
            do
            {
                var page = await client.ListDueForReviewAsync(request, cancellationToken: ct);
                all.Assessments.AddRange(page.Assessments);
                all.TotalDue = page.TotalDue;
                request.PageToken = NextToken(request.PageToken, page.NextPageToken);
            }
            while (request.PageToken.Length > 0);

            var now = DateTimeOffset.UtcNow;
            ctx.Print(parse, all, _ => (["ASSESSMENT", "AREA", "LEVEL", "REVIEW BY", "OVERDUE", "LAST CHANGE", "AUTHOR"],
                all.Assessments.Select(a => new[]
                {
                    a.AssessmentId, AreaText(a.Area), Level(a.Level), Date(a.ReviewBy),
                    a.ReviewBy is null ? "-" : $"{Num((long)(now - a.ReviewBy.ToDateTimeOffset()).TotalDays)} d", Time(a.UpdatedAt), a.Author,
                })));
            if (!IsJson(ctx, parse))
            {
                Console.WriteLine($"{Num(all.TotalDue)} due for review");
            }
        }));
        return command;
    }

    // ----- crisis approvals -----

    private static Command Approvals(CliContext ctx)
    {
        var command = new Command("approvals", "Four-eyes proposals: list, approve (not your own), reject.");

        var status = new Option<ProposalStatus>("--status")
        {
            Description = "pending, approved, rejected or any.",
            HelpName = "pending|approved|rejected|any",
            DefaultValueFactory = _ => ProposalStatus.Pending,
            CustomParser = r => ParseOne(r, t => Norm(t) == "any" ? ProposalStatus.Unspecified : Named<ProposalStatus>(t), "status", "pending|approved|rejected|any"),
        };
        var country = new Option<string?>("--country") { Description = "Only this country, e.g. ML." };
        var list = new Command("list", "List proposals, newest first (default: pending ones).") { status, country };
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var request = new ListProposalsRequest { Status = parse.GetValue(status), CountryCode = parse.GetValue(country)?.ToUpperInvariant() ?? string.Empty, PageSize = 500 };
            var all = new ListProposalsResponse();
            do
            {
                var page = await client.ListProposalsAsync(request, cancellationToken: ct);
                all.Proposals.AddRange(page.Proposals);
                request.PageToken = NextToken(request.PageToken, page.NextPageToken);
            }
            while (request.PageToken.Length > 0);

            ctx.Print(parse, all, _ => (["PROPOSAL", "KIND", "STATUS", "COUNTRY", "PROPOSED", "BY", "AT", "DECIDED BY", "NOTE"],
                all.Proposals.Select(p => new[]
                {
                    p.ProposalId, Kebab(p.Kind), Kebab(p.Status), p.CountryCode, What(p), p.ProposedBy, Time(p.ProposedAt), NonEmpty(p.DecidedBy, "-"), OneLine(p.DecisionNote),
                })));
        }));

        var proposal = new Argument<string>("PROPOSAL_ID") { Description = "Proposal id, e.g. prop-1c9e..." };
        var note = new Option<string?>("--note") { Description = "Note recorded with the approval (at most 500 characters)." };
        var approve = new Command("approve", "Approve a proposal (not your own): it is applied at once.") { proposal, note };
        approve.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var r = await Client(ctx, parse).ApproveProposalAsync(new ApproveProposalRequest
            {
                ProposalId = parse.GetValue(proposal)!, Note = parse.GetValue(note) ?? string.Empty,
            }, cancellationToken: ct);
            ctx.Print(parse, r, _ =>
            {
                var applied = r.Crisis is { } c
                    ? $"crisis {c.CrisisId}"
                    : r.Assessment is { } a ? $"{a.AssessmentId} v{Num(a.Version)} change {r.Change?.ChangeId ?? a.ChangeId}" : "-";
                var level = r.Assessment is { } x ? Level(x.Level) : r.Crisis is { } y ? Kebab(y.Kind) : "-";
                return (["PROPOSAL", "STATUS", "APPLIED", "LEVEL/KIND", "DECIDED BY"], [[r.Proposal.ProposalId, Kebab(r.Proposal.Status), applied, level, r.Proposal.DecidedBy]]);
            });
        }));

        var reason = new Option<string>("--reason") { Description = "Why it is rejected (at most 500 characters).", Required = true };
        var reject = new Command("reject", "Reject a proposal; nothing is applied.") { proposal, reason };
        reject.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var r = await Client(ctx, parse).RejectProposalAsync(new RejectProposalRequest
            {
                ProposalId = parse.GetValue(proposal)!, Reason = parse.GetValue(reason)!,
            }, cancellationToken: ct);
            ctx.Print(parse, r, _ => (["PROPOSAL", "STATUS", "DECIDED BY", "NOTE"],
                [[r.Proposal.ProposalId, Kebab(r.Proposal.Status), r.Proposal.DecidedBy, OneLine(r.Proposal.DecisionNote)]]));
        }));

        command.Subcommands.Add(list);
        command.Subcommands.Add(approve);
        command.Subcommands.Add(reject);
        return command;
    }

    // ----- crisis crises -----

    private static Command Crises(CliContext ctx)
    {
        var command = new Command("crises", "Declared crises: declare, close, list.");
        command.Subcommands.Add(CrisesDeclare(ctx));
        command.Subcommands.Add(CrisesClose(ctx));
        command.Subcommands.Add(CrisesList(ctx));
        return command;
    }

    private static Command CrisesDeclare(CliContext ctx)
    {
        var country = new Argument<string>("CC") { Description = "ISO 3166-1 alpha-2 country code, e.g. ML." };
        var kind = new Option<CrisisKind>("--kind")
        {
            Description = "Kind of crisis.",
            HelpName = "attack|unrest|natural-disaster|health|evacuation|other",
            Required = true,
            CustomParser = r => ParseOne(r, Named<CrisisKind>, "kind", "attack|unrest|natural-disaster|health|evacuation|other"),
        };
        var titleFr = new Option<string?>("--title-fr") { Description = "Title in French (at least one of --title-fr and --title-en)." };
        var titleEn = new Option<string?>("--title-en") { Description = "Title in English." };
        var descriptionFr = new Option<string?>("--description-fr") { Description = "Description in French." };
        var descriptionEn = new Option<string?>("--description-en") { Description = "Description in English." };
        var lat = new Option<double?>("--lat") { Description = "Centre latitude of a circle area (with --lon and --radius-km)." };
        var lon = new Option<double?>("--lon") { Description = "Centre longitude of the circle." };
        var radius = new Option<double?>("--radius-km") { Description = "Radius of the circle in kilometres." };
        var subdivisions = new Option<string[]>("--subdivision")
        {
            Description = "ISO 3166-2 code(s) of the area instead of the whole country, e.g. ML-7 (repeatable).",
            AllowMultipleArgumentsPerToken = true,
        };
        var reason = new Option<string?>("--reason") { Description = "Why it is declared (default: the title)." };
        var emergency = new Option<bool>("--emergency") { Description = "Declare at once without a second analyst (recorded)." };
        var noWellbeing = new Option<bool>("--no-wellbeing") { Description = "Do not start wellbeing checks for people in the area." };
        var command = new Command("declare", "Declare a crisis: PROPOSED for a second analyst, or APPLIED at once with --emergency.")
        {
            country, kind, titleFr, titleEn, descriptionFr, descriptionEn, lat, lon, radius, subdivisions, reason, emergency, noWellbeing,
        };
        command.Validators.Add(r =>
        {
            if (string.IsNullOrWhiteSpace(r.GetValue(titleFr)) && string.IsNullOrWhiteSpace(r.GetValue(titleEn)))
            {
                r.AddError("--title-fr or --title-en is required.");
            }

            var set = new[] { r.GetValue(lat).HasValue, r.GetValue(lon).HasValue, r.GetValue(radius).HasValue }.Count(b => b);
            if (set is not 0 and not 3)
            {
                r.AddError("--lat, --lon and --radius-km go together.");
            }
        });
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var title = new LocalizedText { Fr = parse.GetValue(titleFr) ?? string.Empty, En = parse.GetValue(titleEn) ?? string.Empty };
            var area = new Area
            {
                CountryCode = parse.GetValue(country)!.ToUpperInvariant(),
                SubdivisionCodes = { (parse.GetValue(subdivisions) ?? []).Select(s => s.ToUpperInvariant()) },
            };
            if (parse.GetValue(lat) is { } la && parse.GetValue(lon) is { } lo && parse.GetValue(radius) is { } km)
            {
                area.Circle = new Circle { Center = new LatLng { Latitude = la, Longitude = lo }, RadiusMeters = km * 1000 };
            }

            var draft = new CrisisDraft
            {
                Kind = parse.GetValue(kind),
                Area = area,
                Title = title,
                Description = new LocalizedText { Fr = parse.GetValue(descriptionFr) ?? string.Empty, En = parse.GetValue(descriptionEn) ?? string.Empty },
                Reason = parse.GetValue(reason) ?? NonEmpty(title.Fr, title.En),
                Emergency = parse.GetValue(emergency),
                StartWellbeingCheck = !parse.GetValue(noWellbeing),
            };
            var response = await Client(ctx, parse).DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = draft }, cancellationToken: ct);
            ctx.Print(parse, response, _ =>
            {
                if (response.Outcome == ChangeOutcome.Proposed)
                {
                    return (["OUTCOME", "PROPOSAL", "COUNTRY", "KIND", "TITLE"],
                        [["PROPOSED", response.Proposal.ProposalId, area.CountryCode, Kebab(draft.Kind), Text(title)]]);
                }

                var c = response.Crisis;
                return (["OUTCOME", "CRISIS", "VERSION", "KIND", "AREA", "TITLE", "COUNTRY LEVEL", "WELLBEING"],
                    [[Kebab(response.Outcome).ToUpperInvariant(), c?.CrisisId ?? "-", Num(c?.Version ?? 0), Kebab(draft.Kind), AreaText(area), Text(title),
                        Level(c?.CountryLevel ?? ThreatLevel.Unspecified), draft.StartWellbeingCheck ? "yes" : "no"]]);
            });
            if (response.Outcome == ChangeOutcome.Proposed && !IsJson(ctx, parse))
            {
                Console.WriteLine($"Waiting for a second analyst: crisis approvals approve {response.Proposal.ProposalId}");
            }
        }));
        return command;
    }

    private static Command CrisesClose(CliContext ctx)
    {
        var crisis = new Argument<string>("CRISIS_ID") { Description = "Crisis id, e.g. crisis-2026-0042." };
        var noteFr = new Option<string?>("--note-fr") { Description = "Closing note in French." };
        var noteEn = new Option<string?>("--note-en") { Description = "Closing note in English." };
        var command = new Command("close", "Close an active crisis (its current version is read first).") { crisis, noteFr, noteEn };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var id = parse.GetValue(crisis)!;
            var current = (await client.GetCrisisAsync(new GetCrisisRequest { CrisisId = id }, cancellationToken: ct)).Crisis;
            var response = await client.CloseCrisisAsync(new CloseCrisisRequest
            {
                CrisisId = id,
                ExpectedVersion = current.Version,
                Note = new LocalizedText { Fr = parse.GetValue(noteFr) ?? string.Empty, En = parse.GetValue(noteEn) ?? string.Empty },
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => CrisisRows([response.Crisis]));
        }));
        return command;
    }

    private static Command CrisesList(CliContext ctx)
    {
        var status = new Option<CrisisStatus>("--status")
        {
            Description = "Only active or closed crises (default: any).",
            HelpName = "active|closed|any",
            CustomParser = r => ParseOne(r, t => Norm(t) == "any" ? CrisisStatus.Unspecified : Named<CrisisStatus>(t), "status", "active|closed|any"),
        };
        var country = new Option<string?>("--country") { Description = "Only this country, e.g. NP." };
        var command = new Command("list", "List crises, newest declaration first.") { status, country };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var request = new ListCrisesRequest { Status = parse.GetValue(status), CountryCode = parse.GetValue(country)?.ToUpperInvariant() ?? string.Empty, PageSize = 500 };
            var all = new ListCrisesResponse();
            do
            {
                var page = await client.ListCrisesAsync(request, cancellationToken: ct);
                all.Crises.AddRange(page.Crises);
                request.PageToken = NextToken(request.PageToken, page.NextPageToken);
            }
            while (request.PageToken.Length > 0);

            ctx.Print(parse, all, _ => CrisisRows(all.Crises));
        }));
        return command;
    }

    private static (string[] Header, IEnumerable<string[]> Rows) CrisisRows(IEnumerable<CrisisRecord> crises) =>
        (["CRISIS", "STATUS", "VERSION", "KIND", "AREA", "TITLE", "STARTED", "DECLARED BY", "APPROVAL", "COUNTRY LEVEL", "CLOSED"],
            crises.Select(c => new[]
            {
                c.CrisisId, Kebab(c.Status), Num(c.Version), Kebab(c.Kind), AreaText(c.Area), Text(c.Title), Time(c.StartTime), c.DeclaredBy,
                Approval(c.ApprovalMode, c.ApprovedBy), Level(c.CountryLevel), c.ClosedAt is null ? "-" : $"{Time(c.ClosedAt)} by {c.ClosedBy}",
            }));

    // ----- parsing -----

    private static Option<ThreatLevel> LevelOption(string name, string description, bool required) => new(name)
    {
        Description = description,
        HelpName = "1-4|name",
        Required = required,
        CustomParser = r => ParseOne(r, ParseLevel, "level", LevelChoices),
    };

    /// <summary>A level from 1..4 or its name (normal, increased, avoid-non-essential, do-not-travel).</summary>
    private static ThreatLevel? ParseLevel(string text) => Norm(text) switch
    {
        "1" => ThreatLevel.Normal,
        "2" => ThreatLevel.Increased,
        "3" => ThreatLevel.AvoidNonEssential,
        "4" => ThreatLevel.DoNotTravel,
        _ => Named<ThreatLevel>(text),
    };

    private static T ParseOne<T>(ArgumentResult result, Func<string, T?> parse, string what, string choices)
        where T : struct, System.Enum
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (parse(text) is { } value)
        {
            return value;
        }

        result.AddError($"Unknown {what} '{text}': use {choices}.");
        return default;
    }

    private static CategoryRating[] ParseCategories(ArgumentResult result)
    {
        var ratings = new List<CategoryRating>();
        foreach (var token in result.Tokens.Select(t => t.Value))
        {
            if (Norm(token) == "none")
            {
                continue;
            }

            var parts = token.Split(':');
            var category = Named<ThreatCategory>(parts[0]);
            Severity? severity = parts.Length != 2 ? null : Norm(parts[1]) switch
            {
                "1" => Severity.Low,
                "2" => Severity.Moderate,
                "3" => Severity.High,
                "4" => Severity.Severe,
                _ => Named<Severity>(parts[1]),
            };
            if (category is null || severity is null)
            {
                var names = string.Join('|', System.Enum.GetValues<ThreatCategory>().Where(c => c != ThreatCategory.Unspecified).Select(c => Kebab(c)));
                result.AddError($"Category '{token}' must be category:severity with category {names} and severity low|moderate|high|severe.");
                return [];
            }

            ratings.Add(new CategoryRating { Category = category.Value, Severity = severity.Value });
        }

        return [.. ratings];
    }

    /// <summary>The enum value whose name matches the text, ignoring case, dashes and underscores (never the zero value).</summary>
    private static T? Named<T>(string text)
        where T : struct, System.Enum
    {
        var wanted = Norm(text);
        foreach (var value in System.Enum.GetValues<T>())
        {
            if (!value.Equals(default(T)) && Norm(value.ToString()) == wanted)
            {
                return value;
            }
        }

        return null;
    }

    private static string Norm(string text) =>
        new(text.Where(c => c is not ('-' or '_' or ' ')).Select(char.ToLowerInvariant).ToArray());

    private static string AssessmentId(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? text.Trim().ToUpperInvariant() : text[..slash].Trim().ToUpperInvariant() + text[slash..].Trim();
    }

    private static string CountryOf(string assessmentId) => assessmentId.Split('/')[0];

    // ----- formatting -----

    private static string LevelChange(ThreatLevel before, ThreatLevel after) =>
        before == ThreatLevel.Unspecified ? $"new → {Level(after)}" : $"{Num((int)before)} → {Level(after)}";

    private static string ChangeLine(AssessmentChange c)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"[{Num(c.Sequence)}] {Time(c.Assessment?.UpdatedAt)} {c.AssessmentId} v{Num(c.Version)} ");
        line.Append(LevelChange(c.PreviousLevel, c.Assessment?.Level ?? ThreatLevel.Unspecified));
        if (c.Emergency)
        {
            line.Append(" EMERGENCY");
        }

        if (c.Assessment is { } a)
        {
            line.Append(CultureInfo.InvariantCulture, $" ({Approval(a.ApprovalMode, a.ApprovedBy)}, by {a.Author})");
        }

        foreach (var added in c.CategoriesAdded)
        {
            line.Append(CultureInfo.InvariantCulture, $" +{Kebab(added)}");
        }

        foreach (var removed in c.CategoriesRemoved)
        {
            line.Append(CultureInfo.InvariantCulture, $" -{Kebab(removed)}");
        }

        line.Append(CultureInfo.InvariantCulture, $" — {OneLine(c.Assessment?.Reason)}");
        return line.ToString();
    }

    private static (string[] Header, IEnumerable<string[]> Rows) Details(Assessment a) => (["FIELD", "VALUE"],
        [
            ["assessment", a.AssessmentId],
            ["area", AreaText(a.Area)],
            ["level", Level(a.Level)],
            ["categories", NonEmpty(Categories(a.Categories), "-")],
            ["version", Num(a.Version)],
            ["effective", Time(a.EffectiveTime)],
            ["review by", Date(a.ReviewBy)],
            ["reason", OneLine(a.Reason)],
            ["author", a.Author],
            ["approval", Approval(a.ApprovalMode, a.ApprovedBy)],
            ["last change", $"{a.ChangeId} (sequence {Num(a.Sequence)}) at {Time(a.UpdatedAt)}"],
            ["summary (fr)", OneLine(a.Summary?.Fr)],
            ["summary (en)", OneLine(a.Summary?.En)],
            ["advice (fr)", OneLine(a.Advice?.Fr)],
            ["advice (en)", OneLine(a.Advice?.En)],
        ]);

    private static string What(Proposal p) => p.Kind switch
    {
        ProposalKind.Assessment when p.Assessment is { } d =>
            $"{NonEmpty(d.AssessmentId, "new zone " + (d.Area is null ? string.Empty : string.Join(',', d.Area.SubdivisionCodes)))} → {Level(d.Level)}{(d.Emergency ? " EMERGENCY" : string.Empty)}: {OneLine(d.Reason)}",
        ProposalKind.Crisis when p.Crisis is { } c => $"{Kebab(c.Kind)} {AreaText(c.Area)}: {Text(c.Title)}",
        _ => "-",
    };

    private static string Categories(IEnumerable<CategoryRating> ratings) => string.Join(' ', ratings.Select(r => $"{Kebab(r.Category)}:{Kebab(r.Severity)}"));

    private static string Approval(ApprovalMode mode, string approvedBy) => mode switch
    {
        ApprovalMode.NotRequired => "not required",
        ApprovalMode.Approved => $"approved by {approvedBy}",
        ApprovalMode.Emergency => "EMERGENCY",
        _ => "-",
    };
}
