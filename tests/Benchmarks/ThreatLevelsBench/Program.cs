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
var concurrency = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 16;
var duration = TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 3);
var warmUp = TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 2);
var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;

Console.WriteLine($"threat-levels benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent calls, {rounds} interleaved rounds of {duration.TotalSeconds} s per side after {warmUp.TotalSeconds} s warm-up");
await using var service = await ServiceHost.StartAsync(ThreatLevelsApp.Create, new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Error" });
var (echoApp, echoAddress) = await EchoServer.StartAsync();

using var channel = service.Channel(service.Token("crisis-cell-viewer", "bench"));
using var seedChannel = service.Channel(service.Token("analyst", "bench-analyst"));
using var echoChannel = GrpcChannel.ForAddress(echoAddress);
var client = new ThreatLevelsService.ThreatLevelsServiceClient(channel);
var echo = new EchoService.EchoServiceClient(echoChannel);

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

// Raw clients: the response is received as bytes and not parsed (for both sides), so that the
// in-process client's parsing of 249 assessments does not count against the server.
var raw = Marshallers.Create<byte[]>(b => b, b => b);
var rawList = new Method<ListAssessmentsRequest, byte[]>(MethodType.Unary, ThreatLevelsService.Descriptor.FullName, "ListAssessments",
    Marshallers.Create<ListAssessmentsRequest>(r => r.ToByteArray(), ListAssessmentsRequest.Parser.ParseFrom), raw);
var rawEcho = new Method<EchoRequest, byte[]>(MethodType.Unary, EchoService.Descriptor.FullName, "Echo",
    Marshallers.Create<EchoRequest>(r => r.ToByteArray(), EchoRequest.Parser.ParseFrom), raw);
var invoker = channel.CreateCallInvoker();
var echoInvoker = echoChannel.CreateCallInvoker();

var pairs = new List<PairResult>
{
    await LoadRunner.CompareAsync(
        $"echo, {pointSize} B response", _ => echo.EchoAsync(new EchoRequest { Text = "ML", ResponseBytes = pointSize }).ResponseAsync,
        "GetEffectiveLevel(point)", i => client.GetEffectiveLevelAsync(pointRequests[i % pointRequests.Length]).ResponseAsync,
        concurrency, warmUp, duration, rounds),
    await LoadRunner.CompareAsync(
        $"echo, {basicSize} B response", _ => echo.EchoAsync(new EchoRequest { Text = "list", ResponseBytes = basicSize }).ResponseAsync,
        "ListAssessments(BASIC, 249)", _ => client.ListAssessmentsAsync(basicRequest).ResponseAsync,
        concurrency, warmUp, duration, rounds),
    await LoadRunner.CompareAsync(
        $"echo raw, {fullSize} B response", _ => echoInvoker.AsyncUnaryCall(rawEcho, null, new CallOptions(), new EchoRequest { Text = "list", ResponseBytes = fullSize }).ResponseAsync,
        "ListAssessments(FULL, 249) raw", _ => invoker.AsyncUnaryCall(rawList, null, new CallOptions(), fullRequest).ResponseAsync,
        concurrency, warmUp, duration, rounds),
};

Console.WriteLine();
Console.WriteLine($"{"run",-34} {"calls/s",9} {"p50 ms",8} {"p99 ms",8} {"CPU ms/call",12} {"errors",7}");
foreach (var p in pairs)
{
    foreach (var (name, st) in new[] { (p.Baseline, p.BaselineStats), (p.Measured, p.MeasuredStats) })
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-34} {st.PerSecond,9:F0} {st.P50Ms,8:F2} {st.P99Ms,8:F2} {st.CpuMsPerCall,12:F3} {st.Errors,7}"));
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  => {p.Measured}: throughput {p.MedianThroughputRatio:F2}x the echo baseline (median of {rounds} interleaved rounds; target >= 0.70x); " +
        $"p99 {p.MeasuredStats.P99Ms / p.BaselineStats.P99Ms:F2}x; CPU per call {p.BaselineStats.CpuMsPerCall / p.MeasuredStats.CpuMsPerCall:F2}x as efficient"));
}

await echoApp.StopAsync();
await echoApp.DisposeAsync();
