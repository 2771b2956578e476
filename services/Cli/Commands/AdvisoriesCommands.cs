using System.CommandLine;
using System.Globalization;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

using static Dcis.Crisis.Cli.Commands.CliFormat;

namespace Dcis.Crisis.Cli.Commands;

/// <summary>
/// Company security advisories (company-security token with company_id): <c>crisis companies|sites|travel|subscriptions|webhooks|advisories</c>,
/// and <c>crisis briefing CC</c>.
/// </summary>
internal static class AdvisoriesCommands
{
    /// <summary>Every top-level command of the advisories area (register with one line: <c>foreach (var c in AdvisoriesCommands.BuildAll(context)) root.Subcommands.Add(c);</c>).</summary>
    public static IEnumerable<Command> BuildAll(CliContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        yield return Companies(ctx);
        yield return Sites(ctx);
        yield return Travel(ctx);
        yield return Subscriptions(ctx);
        yield return Webhooks(ctx);
        yield return Advisories(ctx);
        yield return Briefing(ctx);
    }

    private static AdvisoriesService.AdvisoriesServiceClient Client(CliContext ctx, ParseResult parse) => new(ctx.Channel(parse, ctx.AdvisoriesUrl));

    private static Command Companies(CliContext ctx)
    {
        var command = new Command("companies", "Your company and its security contacts.");
        var id = new Option<string?>("--id") { Description = "Company id (analysts onboarding a company; default: your token's company_id)." };
        var name = new Option<string>("--name") { Description = "Company name.", Required = true };
        var contacts = new Option<string[]>("--contact") { Description = "Security contact as 'Name <email>' or 'Name <email> +33...' (repeatable).", AllowMultipleArgumentsPerToken = false };
        var language = new Option<string>("--language") { Description = "Contacts' language: fr or en.", DefaultValueFactory = _ => "fr" };
        var create = new Command("create", "Register the company.") { id, name, contacts, language };
        create.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var company = new Company { CompanyId = parse.GetValue(id) ?? string.Empty, Name = parse.GetValue(name)! };
            company.Contacts.AddRange((parse.GetValue(contacts) ?? []).Select(c => Contact(c, parse.GetValue(language)!)));
            var response = await Client(ctx, parse).CreateCompanyAsync(new CreateCompanyRequest { Company = company }, cancellationToken: ct);
            PrintCompany(ctx, parse, response.Company);
        }));
        var update = new Command("update", "Replace the company's name and contacts.") { name, contacts, language };
        update.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var company = new Company { Name = parse.GetValue(name)! };
            company.Contacts.AddRange((parse.GetValue(contacts) ?? []).Select(c => Contact(c, parse.GetValue(language)!)));
            var response = await Client(ctx, parse).UpdateCompanyAsync(new UpdateCompanyRequest { Company = company }, cancellationToken: ct);
            PrintCompany(ctx, parse, response.Company);
        }));
        var get = new Command("get", "Show the company.");
        get.SetAction((parse, ct) => CliContext.RunAsync(async () =>
            PrintCompany(ctx, parse, (await Client(ctx, parse).GetCompanyAsync(new GetCompanyRequest(), cancellationToken: ct)).Company)));
        command.Subcommands.Add(create);
        command.Subcommands.Add(update);
        command.Subcommands.Add(get);
        return command;
    }

    private static Command Sites(CliContext ctx)
    {
        var command = new Command("sites", "The company's sites abroad.");
        var name = new Option<string>("--name") { Description = "Site name.", Required = true };
        var country = new Option<string>("--country") { Description = "ISO 3166-1 alpha-2 code, e.g. ML.", Required = true };
        var subdivision = new Option<string?>("--subdivision") { Description = "ISO 3166-2 code, e.g. ML-BKO." };
        var city = new Option<string?>("--city") { Description = "City." };
        var reference = new Option<string?>("--reference") { Description = "Your own reference." };
        var lat = new Option<double?>("--lat") { Description = "Latitude." };
        var lon = new Option<double?>("--lon") { Description = "Longitude." };
        var expats = new Option<int>("--expatriates") { Description = "Expatriate headcount." };
        var locals = new Option<int>("--locals") { Description = "Local headcount." };
        var add = new Command("add", "Add a site.") { name, country, subdivision, city, reference, lat, lon, expats, locals };
        add.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var site = new Site
            {
                Name = parse.GetValue(name)!, CountryCode = parse.GetValue(country)!.ToUpperInvariant(), SubdivisionCode = parse.GetValue(subdivision) ?? string.Empty,
                City = parse.GetValue(city) ?? string.Empty, Reference = parse.GetValue(reference) ?? string.Empty,
                ExpatriateHeadcount = parse.GetValue(expats), LocalHeadcount = parse.GetValue(locals),
            };
            if (parse.GetValue(lat) is { } la && parse.GetValue(lon) is { } lo)
            {
                site.Location = new LatLng { Latitude = la, Longitude = lo };
            }

            var response = await Client(ctx, parse).CreateSiteAsync(new CreateSiteRequest { Site = site }, cancellationToken: ct);
            PrintSites(ctx, parse, response, [response.Site]);
            // Advisories do not guess where a site is: without these, a change to one zone of the country never lists it.
            if (site.SubdivisionCode.Length == 0)
            {
                Console.Error.WriteLine("note: no --subdivision: changes to zones given as subdivisions (e.g. ML-BKO) will not list this site");
            }

            if (site.Location is null)
            {
                Console.Error.WriteLine("note: no --lat/--lon: changes to zones drawn as polygons or circles will not list this site");
            }
        }));
        var list = new Command("list", "List the sites.");
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListSitesAsync(new ListSitesRequest { PageSize = 500 }, cancellationToken: ct);
            PrintSites(ctx, parse, response, response.Sites);
        }));
        var id = new Argument<string>("SITE") { Description = "Site id." };
        var delete = new Command("delete", "Remove a site.") { id };
        delete.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            await Client(ctx, parse).DeleteSiteAsync(new DeleteSiteRequest { SiteId = parse.GetValue(id)! }, cancellationToken: ct);
            Console.WriteLine("deleted");
        }));
        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(delete);
        return command;
    }

    private static Command Travel(CliContext ctx)
    {
        var command = new Command("travel", "Staff trips.");
        var traveller = new Option<string>("--traveller") { Description = "Your reference of the traveller (employee number).", Required = true };
        var name = new Option<string?>("--name") { Description = "Name shown in advisories (optional)." };
        var legs = new Option<string[]>("--leg")
        {
            Description = "A leg as CC[/SUBDIVISION][@LAT,LON]:FROM:TO with dates yyyy-MM-dd, e.g. ML/ML-BKO@12.64,-8.0:2026-12-01:2026-12-10 (repeatable; the point places the traveller in zones drawn as polygons or circles).",
            Required = true,
        };
        var add = new Command("add", "Declare a trip.") { traveller, name, legs };
        add.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var trip = new StaffTrip { TravellerReference = parse.GetValue(traveller)!, TravellerName = parse.GetValue(name) ?? string.Empty };
            trip.Legs.AddRange(parse.GetValue(legs)!.Select(Leg));
            var response = await Client(ctx, parse).CreateStaffTripAsync(new CreateStaffTripRequest { Trip = trip }, cancellationToken: ct);
            PrintTrips(ctx, parse, response, [response.Trip]);
        }));
        var list = new Command("list", "List the trips.");
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListStaffTripsAsync(new ListStaffTripsRequest { PageSize = 500 }, cancellationToken: ct);
            PrintTrips(ctx, parse, response, response.Trips);
        }));
        var id = new Argument<string>("TRIP") { Description = "Trip id." };
        var delete = new Command("delete", "Remove a trip.") { id };
        delete.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            await Client(ctx, parse).DeleteStaffTripAsync(new DeleteStaffTripRequest { TripId = parse.GetValue(id)! }, cancellationToken: ct);
            Console.WriteLine("deleted");
        }));
        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(delete);
        return command;
    }

    private static Command Subscriptions(CliContext ctx)
    {
        var command = new Command("subscriptions", "Countries and regions the company follows without a site there.");
        var countries = new Option<string[]>("--country") { Description = "ISO 3166-1 code (repeatable)." };
        var regions = new Option<string[]>("--region") { Description = "ISO 3166-2 code (repeatable)." };
        var minimum = new Option<int>("--min-level") { Description = "Lowest level of interest, 1 to 4 (default: all)." };
        var categories = new Option<string[]>("--category") { Description = "Category of interest, e.g. terrorism, civil-unrest (repeatable; default: all)." };
        var add = new Command("add", "Subscribe.") { countries, regions, minimum, categories };
        add.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var subscription = new Subscription { MinimumLevel = (ThreatLevel)parse.GetValue(minimum) };
            subscription.CountryCodes.AddRange((parse.GetValue(countries) ?? []).Select(c => c.ToUpperInvariant()));
            subscription.SubdivisionCodes.AddRange((parse.GetValue(regions) ?? []).Select(c => c.ToUpperInvariant()));
            subscription.Categories.AddRange((parse.GetValue(categories) ?? []).Select(Category));
            var response = await Client(ctx, parse).CreateSubscriptionAsync(new CreateSubscriptionRequest { Subscription = subscription }, cancellationToken: ct);
            PrintSubscriptions(ctx, parse, response, [response.Subscription]);
        }));
        var list = new Command("list", "List the subscriptions.");
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListSubscriptionsAsync(new ListSubscriptionsRequest { PageSize = 500 }, cancellationToken: ct);
            PrintSubscriptions(ctx, parse, response, response.Subscriptions);
        }));
        var id = new Argument<string>("SUBSCRIPTION") { Description = "Subscription id." };
        var delete = new Command("delete", "Unsubscribe.") { id };
        delete.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            await Client(ctx, parse).DeleteSubscriptionAsync(new DeleteSubscriptionRequest { SubscriptionId = parse.GetValue(id)! }, cancellationToken: ct);
            Console.WriteLine("deleted");
        }));
        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(delete);
        return command;
    }

    private static Command Webhooks(CliContext ctx)
    {
        var command = new Command("webhooks", "Signed webhook endpoints (Standard Webhooks) and their deliveries.");
        var url = new Argument<string>("URL") { Description = "Endpoint URL." };
        var add = new Command("add", "Add an endpoint; prints its signing secret once.") { url };
        add.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { Url = parse.GetValue(url)! }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["ENDPOINT", "URL", "SECRET"], [[response.Endpoint.EndpointId, response.Endpoint.Url, response.Endpoint.Secret]]));
        }));
        var list = new Command("list", "List endpoints with their state.");
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest { PageSize = 500 }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["ENDPOINT", "URL", "ACTIVE", "FAILURES", "DISABLED REASON"],
                response.Endpoints.Select(e => new[] { e.EndpointId, e.Url, e.Active ? "yes" : "no", Num(e.ConsecutiveFailures), e.DisabledReason })));
        }));
        var endpoint = new Argument<string>("ENDPOINT") { Description = "Endpoint id." };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for the first attempt's outcome (0: do not wait).", DefaultValueFactory = _ => 15 };
        var test = new Command("test", "Send a signed test message and show how the endpoint answered.") { endpoint, wait };
        test.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = Client(ctx, parse);
            var response = await client.TestWebhookEndpointAsync(new TestWebhookEndpointRequest { EndpointId = parse.GetValue(endpoint)! }, cancellationToken: ct);
            // Whoever tests an endpoint wants to know whether it works: the test is only queued by the
            // RPC, so follow the delivery until its first attempt has an outcome.
            var delivery = response.Delivery;
            var deadline = DateTime.UtcNow.AddSeconds(Math.Max(0, parse.GetValue(wait)));
            while (delivery.State != WebhookDeliveryState.Succeeded && delivery.Attempts == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct);
                var recent = await client.ListWebhookDeliveriesAsync(new ListWebhookDeliveriesRequest { EndpointId = delivery.EndpointId, PageSize = 50 }, cancellationToken: ct);
                delivery = recent.Deliveries.FirstOrDefault(d => d.DeliveryId == delivery.DeliveryId) ?? delivery;
            }

            var d = delivery;
            ctx.Print(parse, d, _ => (["DELIVERY", "STATE", "ATTEMPTS", "HTTP", "ERROR", "NEXT ATTEMPT"],
                [[d.DeliveryId, d.State.ToString(), Num(d.Attempts), d.LastStatusCode == 0 ? "-" : Num(d.LastStatusCode), d.LastError,
                  d.State == WebhookDeliveryState.Pending && d.NextAttemptAt is not null ? Time(d.NextAttemptAt) : "-"]]));
        }));
        var enable = new Command("enable", "Re-activate an endpoint (clears its failures).") { endpoint };
        enable.SetAction((parse, ct) => SetActive(ctx, parse, parse.GetValue(endpoint)!, true, ct));
        var disable = new Command("disable", "Stop sending to an endpoint.") { endpoint };
        disable.SetAction((parse, ct) => SetActive(ctx, parse, parse.GetValue(endpoint)!, false, ct));
        var advisory = new Argument<string>("ADVISORY") { Description = "Advisory id." };
        var only = new Option<string?>("--endpoint") { Description = "Only this endpoint (default: every active endpoint)." };
        var replay = new Command("replay", "Send an advisory again.") { advisory, only };
        replay.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ReplayAdvisoryAsync(new ReplayAdvisoryRequest
            {
                AdvisoryId = parse.GetValue(advisory)!, EndpointId = parse.GetValue(only) ?? string.Empty,
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["DELIVERY", "ENDPOINT"], response.Deliveries.Select(d => new[] { d.DeliveryId, d.EndpointId })));
        }));
        var deliveries = new Command("deliveries", "Recent deliveries with attempts and errors.") { only };
        deliveries.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListWebhookDeliveriesAsync(new ListWebhookDeliveriesRequest
            {
                EndpointId = parse.GetValue(only) ?? string.Empty, PageSize = 100,
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["DELIVERY", "ENDPOINT", "ADVISORY", "STATE", "ATTEMPTS", "LAST ERROR"],
                response.Deliveries.Select(d => new[] { d.DeliveryId, d.EndpointId, d.AdvisoryId, d.State.ToString(), Num(d.Attempts), d.LastError })));
        }));
        var overlapHours = new Option<int>("--overlap-hours")
        {
            Description = "Hours the previous secret still signs beside the new one (0: revoke it now, for a leaked secret; at most 168).",
            DefaultValueFactory = _ => 24,
        };
        var rotate = new Command("rotate", "Give an endpoint a new signing secret; prints it once.") { endpoint, overlapHours };
        rotate.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).RotateWebhookSecretAsync(new RotateWebhookSecretRequest
            {
                EndpointId = parse.GetValue(endpoint)!,
                PreviousSecretOverlap = Duration.FromTimeSpan(TimeSpan.FromHours(parse.GetValue(overlapHours))),
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["ENDPOINT", "SECRET", "PREVIOUS SECRET SIGNS UNTIL"],
                [[response.Endpoint.EndpointId, response.Endpoint.Secret, response.PreviousSecretExpiresAt is null ? "revoked" : Time(response.PreviousSecretExpiresAt)]]));
        }));
        foreach (var c in new[] { add, list, test, rotate, enable, disable, replay, deliveries })
        {
            command.Subcommands.Add(c);
        }

        return command;
    }

    private static Command Advisories(CliContext ctx)
    {
        var command = new Command("advisories", "Advisories received by the company.");
        var unacknowledged = new Option<bool>("--unacknowledged") { Description = "Only those awaiting acknowledgement." };
        var list = new Command("list", "List advisories, newest first.") { unacknowledged };
        list.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).ListAdvisoriesAsync(new ListAdvisoriesRequest { UnacknowledgedOnly = parse.GetValue(unacknowledged), PageSize = 100 }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["SEQ", "ADVISORY", "ISSUED", "LEVEL", "SITES", "TRAVELLERS", "ACK", "HEADLINE"],
                response.Advisories.Select(a => new[]
                {
                    Num(a.Sequence), a.AdvisoryId, Time(a.IssuedAt), a.NewLevel == ThreatLevel.Unspecified ? "-" : Num((int)a.NewLevel), Num(a.AffectedSites.Count),
                    Num(a.AffectedTravellers.Count), a.AcknowledgedAt is not null ? "yes" : a.AcknowledgementRequired ? "AWAITED" : "-", a.Headline.En,
                })));
        }));
        var after = new Option<long>("--after") { Description = "Resume after this sequence (0: everything)." };
        var watch = new Command("watch", "Stream advisories: backlog first, then live (Ctrl+C to stop).") { after };
        watch.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            using var call = Client(ctx, parse).WatchAdvisories(new WatchAdvisoriesRequest { AfterSequence = parse.GetValue(after) }, cancellationToken: ct);
            try
            {
                await foreach (var item in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (item.Advisory is not { } a)
                    {
                        continue;
                    }

                    if (parse.GetValue(ctx.Output) == OutputFormat.Json)
                    {
                        Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(a));
                        continue;
                    }

                    Console.WriteLine($"[{a.Sequence}] {Time(a.IssuedAt)} {a.AdvisoryId}{(a.NewLevel == ThreatLevel.Unspecified ? string.Empty : $" level {(int)a.NewLevel}")}{(a.AcknowledgementRequired ? " — acknowledgement expected" : string.Empty)}");
                    Console.WriteLine($"    {a.Headline.En}");
                    foreach (var s in a.AffectedSites)
                    {
                        Console.WriteLine($"    site: {s.Name} ({s.City})");
                    }

                    foreach (var t in a.AffectedTravellers)
                    {
                        Console.WriteLine($"    traveller: {t.TravellerReference} {t.TravellerName}");
                    }

                    foreach (var m in a.RecommendedMeasures)
                    {
                        Console.WriteLine($"    - {m.En}");
                    }
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
        var advisory = new Argument<string>("ADVISORY") { Description = "Advisory id." };
        var ack = new Command("ack", "Acknowledge an advisory.") { advisory };
        ack.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var response = await Client(ctx, parse).AcknowledgeAdvisoryAsync(new AcknowledgeAdvisoryRequest { AdvisoryId = parse.GetValue(advisory)! }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["ADVISORY", "ACKNOWLEDGED", "BY"], [[response.Advisory.AdvisoryId, Time(response.Advisory.AcknowledgedAt), response.Advisory.AcknowledgedBy]]));
        }));
        var cap = new Command("cap", "Print an advisory as a CAP 1.2 alert.") { advisory };
        cap.SetAction((parse, ct) => CliContext.RunAsync(async () =>
            Console.WriteLine((await Client(ctx, parse).GetAdvisoryCapAsync(new GetAdvisoryCapRequest { AdvisoryId = parse.GetValue(advisory)! }, cancellationToken: ct)).CapXml)));
        var wave = new Option<string?>("--wave") { Description = "Only the advisories of this cause event." };
        var counts = new Command("counts", "Counts: issued, acknowledged, awaiting, chased (analysts, crisis cell).") { wave };
        counts.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var r = await Client(ctx, parse).GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest { CauseEventId = parse.GetValue(wave) ?? string.Empty }, cancellationToken: ct);
            ctx.Print(parse, r, _ => (["COMPANIES", "ISSUED", "ACK REQUIRED", "ACKNOWLEDGED", "AWAITING", "CHASED"],
                [[Num(r.Companies), Num(r.Issued), Num(r.AcknowledgementRequired), Num(r.Acknowledged), Num(r.AwaitingAcknowledgement), Num(r.Chased)]]));
        }));
        foreach (var c in new[] { list, watch, ack, cap, counts })
        {
            command.Subcommands.Add(c);
        }

        return command;
    }

    private static Command Briefing(CliContext ctx)
    {
        var country = new Argument<string>("CC") { Description = "ISO 3166-1 alpha-2 country code." };
        var city = new Option<string?>("--city") { Description = "Destination city." };
        var subdivision = new Option<string?>("--subdivision") { Description = "ISO 3166-2 code of the destination." };
        var lat = new Option<double?>("--lat") { Description = "Destination latitude." };
        var lon = new Option<double?>("--lon") { Description = "Destination longitude." };
        var lang = new Option<string>("--lang") { Description = "Language of the texts: en or fr.", DefaultValueFactory = _ => "en" };
        lang.AcceptOnlyFromAmong("en", "fr");
        var command = new Command("briefing", "Pre-travel briefing: level, zones, categories, advice, active crises, measures.") { country, city, subdivision, lat, lon, lang };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var request = new GetBriefingRequest
            {
                CountryCode = parse.GetValue(country)!.ToUpperInvariant(), City = parse.GetValue(city) ?? string.Empty,
                SubdivisionCode = parse.GetValue(subdivision) ?? string.Empty,
            };
            if (parse.GetValue(lat) is { } la && parse.GetValue(lon) is { } lo)
            {
                request.Location = new LatLng { Latitude = la, Longitude = lo };
            }

            var b = await Client(ctx, parse).GetBriefingAsync(request, cancellationToken: ct);
            if (parse.GetValue(ctx.Output) == OutputFormat.Json)
            {
                Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(b));
                return;
            }

            if (b.CountryVersion == 0 && b.Zones.Count == 0 && b.ActiveCrises.Count == 0)
            {
                // Level 0 with empty advice would read like a published "no risk": say there is nothing published.
                Console.WriteLine($"{b.CountryCode}: no threat level published for this country (as of {Time(b.AsOf)})");
                return;
            }

            var french = parse.GetValue(lang) == "fr";
            string In(LocalizedText? text) => OneLine(french ? NonEmpty(text?.Fr, text?.En ?? string.Empty) : NonEmpty(text?.En, text?.Fr ?? string.Empty));
            Console.WriteLine($"{b.CountryCode}: country level {Level(b.CountryLevel)}, at destination {Level(b.EffectiveLevel)} (version {b.CountryVersion}, as of {Time(b.AsOf)})");
            Console.WriteLine($"  {In(b.Summary)}");
            Console.WriteLine($"  Advice: {In(b.Advice)}");
            foreach (var c in b.Categories)
            {
                Console.WriteLine($"  category: {Kebab(c.Category)} ({Kebab(c.Severity)})");
            }

            foreach (var z in b.Zones)
            {
                Console.WriteLine($"  zone {AreaText(z.Area)} {z.AssessmentId}: {Level(z.Level)}{(z.ContainsDestination ? " — your destination" : string.Empty)}");
            }

            foreach (var c in b.ActiveCrises)
            {
                Console.WriteLine($"  active crisis {c.CrisisId}: {In(c.Title)} since {Time(c.StartTime)}");
            }

            foreach (var m in b.RecommendedMeasures)
            {
                Console.WriteLine($"  - {In(m)}");
            }
        }));
        return command;
    }

    private static Task<int> SetActive(CliContext ctx, ParseResult parse, string endpointId, bool active, CancellationToken ct) => CliContext.RunAsync(async () =>
    {
        var response = await Client(ctx, parse).SetWebhookEndpointActiveAsync(new SetWebhookEndpointActiveRequest { EndpointId = endpointId, Active = active }, cancellationToken: ct);
        ctx.Print(parse, response, _ => (["ENDPOINT", "ACTIVE"], [[response.Endpoint.EndpointId, response.Endpoint.Active ? "yes" : "no"]]));
    });

    private static SecurityContact Contact(string text, string language)
    {
        // "Name <email> [+phone]"
        var open = text.IndexOf('<', StringComparison.Ordinal);
        var close = text.IndexOf('>', StringComparison.Ordinal);
        if (open < 0 || close < open)
        {
            throw new ArgumentException($"contact '{text}' must look like 'Name <email>'");
        }

        return new SecurityContact
        {
            DisplayName = text[..open].Trim(),
            Email = text[(open + 1)..close].Trim(),
            Phone = text[(close + 1)..].Trim(),
            Language = string.Equals(language, "en", StringComparison.OrdinalIgnoreCase) ? Language.En : Language.Fr,
        };
    }

    private static TripLeg Leg(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 3)
        {
            throw new ArgumentException($"leg '{text}' must look like CC[/SUBDIVISION][@LAT,LON]:yyyy-MM-dd:yyyy-MM-dd");
        }

        var at = parts[0].Split('@');
        var place = at[0].Split('/');
        var leg = new TripLeg
        {
            CountryCode = place[0].ToUpperInvariant(),
            SubdivisionCode = place.Length > 1 ? place[1].ToUpperInvariant() : string.Empty,
            FromTime = Timestamp.FromDateTime(DateTime.SpecifyKind(DateTime.ParseExact(parts[1], "yyyy-MM-dd", CultureInfo.InvariantCulture), DateTimeKind.Utc)),
            ToTime = Timestamp.FromDateTime(DateTime.SpecifyKind(DateTime.ParseExact(parts[2], "yyyy-MM-dd", CultureInfo.InvariantCulture), DateTimeKind.Utc).AddDays(1).AddSeconds(-1)),
        };
        if (at.Length > 1)
        {
            // The service validates the ranges and says which leg is wrong; here only the shape.
            var point = at[1].Split(',');
            if (point.Length != 2
                || !double.TryParse(point[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var latitude)
                || !double.TryParse(point[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var longitude))
            {
                throw new ArgumentException($"leg '{text}': the point must look like @LAT,LON with decimal degrees, e.g. @12.64,-8.0");
            }

            leg.Location = new LatLng { Latitude = latitude, Longitude = longitude };
        }

        return leg;
    }

    private static ThreatCategory Category(string name) =>
        System.Enum.TryParse<ThreatCategory>(name.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var c)
            ? c : throw new ArgumentException($"unknown category '{name}'");

    private static void PrintCompany(CliContext ctx, ParseResult parse, Company c) =>
        ctx.Print(parse, c, _ => (["COMPANY", "NAME", "CONTACTS"], [[c.CompanyId, c.Name, string.Join(", ", c.Contacts.Select(x => $"{x.ContactId} {x.DisplayName}"))]]));

    private static void PrintSites(CliContext ctx, ParseResult parse, Google.Protobuf.IMessage message, IEnumerable<Site> sites) =>
        ctx.Print(parse, message, _ => (["SITE", "NAME", "COUNTRY", "SUBDIVISION", "CITY", "EXPATS", "LOCALS"],
            sites.Select(s => new[] { s.SiteId, s.Name, s.CountryCode, s.SubdivisionCode, s.City, Num(s.ExpatriateHeadcount), Num(s.LocalHeadcount) })));

    private static void PrintTrips(CliContext ctx, ParseResult parse, Google.Protobuf.IMessage message, IEnumerable<StaffTrip> trips) =>
        ctx.Print(parse, message, _ => (["TRIP", "TRAVELLER", "LEGS"],
            trips.Select(t => new[] { t.TripId, t.TravellerReference, string.Join(" ", t.Legs.Select(LegText)) })));

    // The leg as it is given to `travel add`, so that a listed trip reads the way it was declared.
    private static string LegText(TripLeg l) =>
        l.CountryCode + (l.SubdivisionCode.Length > 0 ? "/" + l.SubdivisionCode : string.Empty)
        + (l.Location is { } p ? "@" + Point(p.Latitude, p.Longitude) : string.Empty)
        + $":{Date(l.FromTime)}..{Date(l.ToTime)}";

    private static void PrintSubscriptions(CliContext ctx, ParseResult parse, Google.Protobuf.IMessage message, IEnumerable<Subscription> subs) =>
        ctx.Print(parse, message, _ => (["SUBSCRIPTION", "COUNTRIES", "REGIONS", "MIN LEVEL", "CATEGORIES"],
            subs.Select(s => new[]
            {
                s.SubscriptionId, string.Join(",", s.CountryCodes), string.Join(",", s.SubdivisionCodes), Num((int)s.MinimumLevel), string.Join(",", s.Categories),
            })));
}
