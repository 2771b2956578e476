using System.Globalization;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels;
using Dcis.Crisis.ThreatLevels.Bench;
using Dcis.Crisis.ThreatLevels.Bench.Echo;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

// Usage: dotnet run -c Release --project tests/Benchmarks/ThreatLevelsBench -- [concurrency=16] [seconds per round=3] [warm-up seconds=2] [rounds=5]
// Three sides per workload, interleaved: the bare echo (the target's baseline), the same echo behind
// the crisis defaults with a token (what every crisis service pays before its own code), threat-levels.
var concurrency = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 16;
var duration = TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 3);
var warmUp = TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 2);
var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;

Console.WriteLine($"threat-levels benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent calls, {rounds} interleaved rounds of {duration.TotalSeconds} s per side after {warmUp.TotalSeconds} s warm-up");
// Both crisis hosts run in the Production environment, as the launcher and a deployment run them
// (ServiceHost defaults to Development for tests: developer exception page, DI scope validation, reflection).
var asDeployed = new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Error", ["environment"] = "Production" };
await using var service = await ServiceHost.StartAsync(ThreatLevelsApp.Create, asDeployed);
var (echoApp, echoAddress) = await EchoServer.StartBareAsync();
await using var guardedEcho = await ServiceHost.StartAsync(EchoServer.CreateWithCrisisDefaults, asDeployed);
Console.WriteLine($"environments: threat-levels {service.App.Environment.EnvironmentName}, echo + crisis defaults {guardedEcho.App.Environment.EnvironmentName}, bare echo {echoApp.Environment.EnvironmentName}");

using var channel = service.Channel(service.Token("crisis-cell-viewer", "bench"));
using var seedChannel = service.Channel(service.Token("analyst", "bench-analyst"));
using var echoChannel = GrpcChannel.ForAddress(echoAddress);
using var guardedChannel = guardedEcho.Channel(guardedEcho.Token("crisis-cell-viewer", "bench"));
var client = new ThreatLevelsService.ThreatLevelsServiceClient(channel);

// Seed: every country assessed, plus three polygon zones in each of 40 countries.
var seeder = new ThreatLevelsService.ThreatLevelsServiceClient(seedChannel);
var countries = (await client.ListCountriesAsync(new ListCountriesRequest { PageSize = 500 })).Countries.ToList();
var random = new Random(42);
foreach (var c in countries)
{
    await seeder.SetAssessmentAsync(new SetAssessmentRequest
    {
        Assessment = new AssessmentDraft
        {
            Area = new Area { CountryCode = c.Code }, Level = (ThreatLevel)random.Next(1, 4), Reason = "seed",
            Summary = new LocalizedText { Fr = "Situation sécuritaire stable, vigilance requise.", En = "Stable security situation, vigilance required." },
            Advice = new LocalizedText { Fr = "Suivre les consignes des autorités locales.", En = "Follow the instructions of the local authorities." },
            Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Moderate }, new CategoryRating { Category = ThreatCategory.CrimeAndKidnapping, Severity = Severity.Low } },
        },
    });
}

var zoned = countries.Where(c => c.ReferencePoint is not null).Take(40).ToList();
foreach (var c in zoned)
{
    for (var z = 0; z < 3; z++)
    {
        var lat = c.ReferencePoint.Latitude + (z * 0.5);
        var lng = c.ReferencePoint.Longitude;
        var polygon = new Polygon();
        for (var k = 0; k < 24; k++)
        {
            var angle = k * 2 * Math.PI / 24;
            polygon.Vertices.Add(new LatLng { Latitude = Math.Clamp(lat + (0.4 * Math.Sin(angle)), -89, 89), Longitude = Math.Clamp(lng + (0.4 * Math.Cos(angle)), -179, 179) });
        }

        await seeder.SetAssessmentAsync(new SetAssessmentRequest
        {
            Assessment = new AssessmentDraft { Area = new Area { CountryCode = c.Code, Polygon = polygon, ZoneName = $"zone {z}" }, Level = ThreatLevel.AvoidNonEssential, Reason = "seed" },
        });
    }
}

// Requests: point lookups spread over zoned countries (half inside a zone, half outside).
var pointRequests = Enumerable.Range(0, 1024).Select(i =>
{
    var c = zoned[i % zoned.Count];
    var inside = i % 2 == 0;
    return new GetEffectiveLevelRequest
    {
        Point = new PointTarget
        {
            CountryCode = c.Code,
            Location = new LatLng { Latitude = Math.Clamp(c.ReferencePoint.Latitude + (inside ? 0.05 : 3), -89, 89), Longitude = c.ReferencePoint.Longitude },
        },
    };
}).ToArray();
var sample = await client.GetEffectiveLevelAsync(pointRequests[0]);
var fullRequest = new ListAssessmentsRequest { PageSize = 500, Scope = AssessmentScope.Countries };
var basicRequest = new ListAssessmentsRequest { PageSize = 500, Scope = AssessmentScope.Countries, View = AssessmentView.Basic };
var pointSize = sample.CalculateSize();
var fullSize = (await client.ListAssessmentsAsync(fullRequest)).CalculateSize();
var basicSize = (await client.ListAssessmentsAsync(basicRequest)).CalculateSize();
Console.WriteLine($"seeded {countries.Count} countries + {zoned.Count * 3} zones; responses: GetEffectiveLevel {pointSize} B, ListAssessments(all countries) FULL {fullSize} B, BASIC {basicSize} B");

// Raw clients on every side: the response is received as bytes and not parsed, so that the
// in-process client's parsing (249 assessments) does not count against the server.
var raw = Marshallers.Create<byte[]>(b => b, b => b);
Method<TRequest, byte[]> RawMethod<TRequest>(string service, string name, MessageParser<TRequest> parser)
    where TRequest : IMessage<TRequest> =>
    new(MethodType.Unary, service, name, Marshallers.Create<TRequest>(r => r.ToByteArray(), parser.ParseFrom), raw);
var rawList = RawMethod(ThreatLevelsService.Descriptor.FullName, "ListAssessments", ListAssessmentsRequest.Parser);
var rawLevel = RawMethod(ThreatLevelsService.Descriptor.FullName, "GetEffectiveLevel", GetEffectiveLevelRequest.Parser);
var rawEcho = RawMethod(EchoService.Descriptor.FullName, "Echo", EchoRequest.Parser);
var invoker = channel.CreateCallInvoker();
var echoInvoker = echoChannel.CreateCallInvoker();
var guardedInvoker = guardedChannel.CreateCallInvoker();
Side[] Sides(string what, int bytes, Side measured) =>
[
    new($"echo bare, {bytes} B", _ => echoInvoker.AsyncUnaryCall(rawEcho, null, default, new EchoRequest { Text = what, ResponseBytes = bytes }).ResponseAsync),
    new($"echo + crisis defaults/JWT, {bytes} B", _ => guardedInvoker.AsyncUnaryCall(rawEcho, null, default, new EchoRequest { Text = what, ResponseBytes = bytes }).ResponseAsync),
    measured,
];

var comparisons = new List<ComparisonResult>
{
    await LoadRunner.CompareAsync(Sides("ML", pointSize, new("GetEffectiveLevel(point)", i => invoker.AsyncUnaryCall(rawLevel, null, default, pointRequests[i % pointRequests.Length]).ResponseAsync)),
        concurrency, warmUp, duration, rounds),
    await LoadRunner.CompareAsync(Sides("list", basicSize, new("ListAssessments(BASIC, 249)", _ => invoker.AsyncUnaryCall(rawList, null, default, basicRequest).ResponseAsync)),
        concurrency, warmUp, duration, rounds),
    await LoadRunner.CompareAsync(Sides("list", fullSize, new("ListAssessments(FULL, 249)", _ => invoker.AsyncUnaryCall(rawList, null, default, fullRequest).ResponseAsync)),
        concurrency, warmUp, duration, rounds),
};

Console.WriteLine();
Console.WriteLine($"{"run",-38} {"calls/s",9} {"p50 ms",8} {"p99 ms",8} {"CPU ms/call",12} {"errors",7}");
foreach (var c in comparisons)
{
    for (var s = 0; s < c.Sides.Count; s++)
    {
        var st = c.Stats[s];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Sides[s].Name,-38} {st.PerSecond,9:F0} {st.P50Ms,8:F2} {st.P99Ms,8:F2} {st.CpuMsPerCall,12:F3} {st.Errors,7}"));
    }

    var m = c.Stats[^1];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  => {c.Sides[^1].Name}: throughput {c.MedianThroughputRatios[^1]:F2}x the bare echo (median of {rounds} interleaved rounds; target >= 0.70x), " +
        $"p99 {m.P99Ms / c.Stats[0].P99Ms:F2}x, CPU/call {c.Stats[0].CpuMsPerCall / m.CpuMsPerCall:F2}x as efficient; " +
        $"vs the echo behind the same crisis defaults: throughput {c.MedianRatiosToSecond[^1]:F2}x, p99 {m.P99Ms / c.Stats[1].P99Ms:F2}x. " +
        $"The crisis defaults alone cost the echo {1 - c.MedianThroughputRatios[1]:P0} of its throughput."));
}

await echoApp.StopAsync();
await echoApp.DisposeAsync();
