using System.Text.Json;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using AdvisoryTripLeg = Dcis.Crisis.Advisories.V1.TripLeg;
using ConsularTripLeg = Dcis.Crisis.Consular.V1.TripLeg;

namespace Dcis.Crisis.Cli.Demo;

/// <summary>What the seeder created that the scenario needs later (ids only, no contact details).</summary>
internal sealed record DemoRecord(
    List<DemoPerson> People,
    List<DemoCompany> Companies);

/// <summary>A seeded registrant: id, country, whether near the capital, whether they use the app inbox.</summary>
internal sealed record DemoPerson(string RegistrantId, string CountryCode, bool NearCapital, bool AppInbox, string Language, string Preferred = "");

/// <summary>A seeded company and the countries of its sites and travellers.</summary>
internal sealed record DemoCompany(string CompanyId, List<string> SiteCountries, List<string> TravelCountries, bool Webhook);

/// <summary>
/// Seeds the demo reference data once per data directory: levels for the countries with posts,
/// registrants (residents, travellers, both) and companies with sites, staff travel and webhooks.
/// </summary>
internal sealed class DemoSeeder(DemoClients clients, DemoTokens tokens, string dataDir, TextWriter log)
{
    public const string RecordFile = "demo-seed.json";

    public static DemoRecord? Load(string dataDir)
    {
        var path = Path.Combine(dataDir, RecordFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<DemoRecord>(File.ReadAllText(path)) : null;
    }

    public async Task<DemoRecord> SeedAsync(int registrants, int companies, int seed, string crisisCountry, string? webhookUrl, CancellationToken ct)
    {
        if (Load(dataDir) is { } existing)
        {
            await log.WriteLineAsync($"demo: already seeded ({existing.People.Count} registrants, {existing.Companies.Count} companies) — keeping the data");
            return existing;
        }

        var world = new DemoWorld(seed);
        var started = DateTime.UtcNow;
        await SeedLevelsAsync(world, crisisCountry, ct);
        var posts = await PostsByCountryAsync(ct);
        var people = await SeedRegistrantsAsync(world, registrants, crisisCountry, posts, ct);
        var companyRecords = await SeedCompaniesAsync(world, companies, crisisCountry, webhookUrl, ct);
        var record = new DemoRecord(people, companyRecords);
        Directory.CreateDirectory(dataDir);
        await File.WriteAllTextAsync(Path.Combine(dataDir, RecordFile), JsonSerializer.Serialize(record), ct);
        await log.WriteLineAsync($"demo: seeded {people.Count} registrants and {companyRecords.Count} companies in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        return record;
    }

    private async Task SeedLevelsAsync(DemoWorld world, string crisisCountry, CancellationToken ct)
    {
        var analyst = DemoClients.As(tokens.Analyst(), ct);
        foreach (var city in DemoWorld.Capitals)
        {
            var level = city.CountryCode == crisisCountry ? ThreatLevel.AvoidNonEssential : (ThreatLevel)(1 + world.Next(3));
            try
            {
                await clients.ThreatLevels.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = city.CountryCode }, analyst);
                continue;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                // Not assessed yet: seed it below.
            }

            await clients.ThreatLevels.SetAssessmentAsync(new SetAssessmentRequest
            {
                Assessment = new AssessmentDraft
                {
                    AssessmentId = city.CountryCode,
                    Area = new Area { CountryCode = city.CountryCode },
                    Level = level,
                    Categories = { new CategoryRating { Category = ThreatCategory.CrimeAndKidnapping, Severity = (Severity)(1 + world.Next(3)) } },
                    Summary = new LocalizedText { Fr = $"Situation sécuritaire à {city.Name}.", En = $"Security situation in {city.Name}." },
                    Advice = new LocalizedText { Fr = "Restez informés et suivez les consignes des autorités.", En = "Stay informed and follow the authorities' instructions." },
                    EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
                    Reason = "Évaluation initiale (données de démonstration)",
                },
            }, analyst);
        }

        await log.WriteLineAsync($"demo: levels set for {DemoWorld.Capitals.Count} countries");
    }

    private async Task<Dictionary<string, string>> PostsByCountryAsync(CancellationToken ct)
    {
        var posts = new Dictionary<string, string>(StringComparer.Ordinal);
        var token = string.Empty;
        do
        {
            var page = await clients.Consular.ListPostsAsync(new ListPostsRequest { PageSize = 200, PageToken = token }, DemoClients.As(tokens.Analyst(), ct));
            foreach (var post in page.Posts)
            {
                // People are placed by country, so only a post covering the whole country may register them.
                foreach (var j in post.Jurisdictions.Where(j => j.SubdivisionCodes.Count == 0))
                {
                    posts.TryAdd(j.CountryCode, post.PostId);
                }
            }

            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        return posts;
    }

    private async Task<List<DemoPerson>> SeedRegistrantsAsync(DemoWorld world, int count, string crisisCountry, Dictionary<string, string> posts, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var drafts = new List<(Registrant Draft, string PostId, bool NearCapital)>();
        for (var i = 1; i <= count; i++)
        {
            var city = world.HomeCity(crisisCountry);
            if (!posts.TryGetValue(city.CountryCode, out var postId))
            {
                continue;
            }

            var capital = DemoWorld.Capitals.First(c => c.CountryCode == city.CountryCode);
            var roll = world.NextDouble();
            var kind = roll < 0.6 ? RegistrantKind.Resident : roll < 0.9 ? RegistrantKind.Traveller : RegistrantKind.Both;
            var channelRoll = world.NextDouble();
            var preferred = channelRoll < 0.4 ? Channel.AppInbox : channelRoll < 0.75 ? Channel.Sms : Channel.Email;
            var location = world.Near(city, 8);
            var draft = new Registrant
            {
                Kind = kind,
                FullName = world.Name(),
                Email = $"p{i:D5}@demo.dcis.test",
                Mobile = $"+3375{i:D7}",
                AppInbox = preferred == Channel.AppInbox || world.NextDouble() < 0.2,
                PreferredChannel = preferred,
                Language = world.NextDouble() < 0.7 ? Language.Fr : Language.En,
                HouseholdSize = 1 + world.Next(4),
                ConsentTime = Timestamp.FromDateTime(DateTime.UtcNow),
            };
            if (kind != RegistrantKind.Traveller)
            {
                draft.Home = new HomeArea { CountryCode = city.CountryCode, City = city.Name, Location = location };
            }

            if (kind != RegistrantKind.Resident)
            {
                draft.Trips.Add(new ConsularTripLeg
                {
                    CountryCode = city.CountryCode,
                    City = city.Name,
                    Location = location,
                    FromDate = today.AddDays(-world.Next(5)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    ToDate = today.AddDays(3 + world.Next(20)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                });
            }

            drafts.Add((draft, postId, city == capital));
        }

        var people = new List<DemoPerson>(drafts.Count);
        var gate = new object();
        await Parallel.ForEachAsync(drafts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (item, token) =>
        {
            var reply = await clients.Consular.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = item.Draft }, DemoClients.As(tokens.Officer(item.PostId), token));
            var country = item.Draft.Home?.CountryCode ?? item.Draft.Trips[0].CountryCode;
            lock (gate)
            {
                people.Add(new DemoPerson(reply.Registrant.RegistrantId, country, item.NearCapital, item.Draft.AppInbox, item.Draft.Language.ToString(), item.Draft.PreferredChannel.ToString()));
            }
        });
        await log.WriteLineAsync($"demo: {people.Count} registrants registered ({people.Count(p => p.CountryCode == crisisCountry)} in {crisisCountry})");
        return people;
    }

    private async Task<List<DemoCompany>> SeedCompaniesAsync(DemoWorld world, int count, string crisisCountry, string? webhookUrl, CancellationToken ct)
    {
        var analyst = DemoClients.As(tokens.Analyst(), ct);
        var records = new List<DemoCompany>();
        var crisisCapital = DemoWorld.Capitals.First(c => c.CountryCode == crisisCountry);
        for (var i = 1; i <= count; i++)
        {
            var companyId = $"demo-co-{i:D3}";
            var options = DemoClients.As(tokens.Company(companyId), ct);
            try
            {
                await clients.Advisories.CreateCompanyAsync(new CreateCompanyRequest
                {
                    Company = new Company
                    {
                        CompanyId = companyId,
                        Name = $"Société de démonstration {i:D3}",
                        Contacts = { new SecurityContact { DisplayName = "Direction sûreté", Language = i % 3 == 0 ? Language.En : Language.Fr, Email = $"surete@co{i:D3}.demo.dcis.test" } },
                    },
                }, analyst);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
            {
                continue;
            }

            var siteCountries = new List<string>();
            var sites = 1 + world.Next(3);
            for (var s = 0; s < sites; s++)
            {
                // One company in eight has a site in the crisis capital, so the demo has companies to alert.
                var city = s == 0 && i % 8 == 0 ? crisisCapital : DemoWorld.Capitals[world.Next(DemoWorld.Capitals.Count)];
                siteCountries.Add(city.CountryCode);
                await clients.Advisories.CreateSiteAsync(new CreateSiteRequest
                {
                    CompanyId = companyId,
                    Site = new Site
                    {
                        Name = $"Site {city.Name} {s + 1}",
                        Reference = $"{companyId}-S{s + 1}",
                        CountryCode = city.CountryCode,
                        City = city.Name,
                        Location = world.Near(city, 10),
                        ExpatriateHeadcount = world.Next(30),
                        LocalHeadcount = 10 + world.Next(300),
                    },
                }, options);
            }

            var travelCountries = new List<string>();
            var trips = world.Next(3);
            for (var t = 0; t < trips; t++)
            {
                var city = DemoWorld.Capitals[world.Next(DemoWorld.Capitals.Count)];
                travelCountries.Add(city.CountryCode);
                await clients.Advisories.CreateStaffTripAsync(new CreateStaffTripRequest
                {
                    CompanyId = companyId,
                    Trip = new StaffTrip
                    {
                        TravellerReference = $"{companyId}-T{t + 1}",
                        TravellerName = world.Name(),
                        Legs =
                        {
                            new AdvisoryTripLeg
                            {
                                CountryCode = city.CountryCode,
                                City = city.Name,
                                Location = world.Near(city, 5),
                                FromTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-2)),
                                ToTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(5 + world.Next(20))),
                            },
                        },
                    },
                }, options);
            }

            var webhook = webhookUrl is not null && i % 8 == 0 && i <= 40;
            if (webhook)
            {
                await clients.Advisories.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { CompanyId = companyId, Url = webhookUrl! }, options);
            }

            records.Add(new DemoCompany(companyId, siteCountries, travelCountries, webhook));
        }

        await log.WriteLineAsync($"demo: {records.Count} companies with {records.Sum(c => c.SiteCountries.Count)} sites ({records.Count(c => c.SiteCountries.Contains(crisisCountry))} with a site in {crisisCountry})");
        return records;
    }
}
