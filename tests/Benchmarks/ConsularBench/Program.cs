using System.Diagnostics;
using System.Globalization;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular;
using Dcis.Crisis.Consular.Bench;
using Dcis.Crisis.Consular.Events;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;

// Usage: dotnet run -c Release --project tests/Benchmarks/ConsularBench [-- registrants present]
var registrants = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var present = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;

await using var redis = await RedisServer.StartAsync();
Console.WriteLine($"redis-server on {redis.EndPoint}");

// Baseline: raw XADD of one ~200-byte entry (one recipient's worth) per request, redis-benchmark defaults (50 clients).
var xaddRate = await RedisBaseline.XaddRateAsync(redis.Port, 200_000);
Console.WriteLine($"baseline  redis-benchmark XADD: {xaddRate:N0} entries/s");

using var dataDir = new TempDirectory("consular-bench");
var seed = Stopwatch.StartNew();
await Registry.SeedAsync(Path.Combine(dataDir.Path, "consular.db"), registrants, present);
Console.WriteLine($"registry  {registrants:N0} registrants, {present:N0} present in ML, seeded in {seed.Elapsed.TotalSeconds:N1} s");

using var resources = new TempDirectory("consular-bench-res");
DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "consular", ResourcesPaths = [resources.Path] });
await using var host = await ServiceHost.StartAsync(a => ConsularApp.Create(a), new Dictionary<string, string>
{
    ["DAPR_GRPC_PORT"] = sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
    ["DAPR_HTTP_PORT"] = sidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
    ["Consular:JobIntervalSeconds"] = "0",
}, dataDir.Path);
var consumer = host.App.Services.GetRequiredService<ThreatLevelChangedConsumer>();
var db = (await redis.ConnectAsync()).GetDatabase();

// Warm-up (JIT, connections): a level change for a small country.
await consumer.HandleAsync(Change("NE"), new IncomingEvent(Guid.NewGuid().ToString(), "warmup", Topics.ThreatLevelChanged, null), default);
await WaitForAsync(async () => await db.StreamLengthAsync(Topics.ConsularAlertIssued) >= 1 && await UnsentAsync(host) == 0);
var before = await db.StreamLengthAsync(Topics.NotificationRequested);

var stream = Stopwatch.StartNew();
long streamed = 0;
await foreach (var page in host.App.Services.GetRequiredService<Dcis.Crisis.Consular.Storage.PresenceQuery>()
    .StreamAsync(Dcis.Crisis.Consular.Domain.PresenceSpec.From(new Area { CountryCode = "ML" }, DateTimeOffset.UtcNow, 0), 1000, default))
{
    streamed += page.Count;
}

Console.WriteLine($"presence  keyset stream of {streamed:N0} present people (read only): {stream.ElapsedMilliseconds:N0} ms");

var e = Change("ML");
var clock = Stopwatch.StartNew();
await consumer.HandleAsync(e, new IncomingEvent(e.EventId, ThreatLevelChanged.Descriptor.FullName, Topics.ThreatLevelChanged, null), default);
var written = clock.Elapsed;
var expectedBatches = (present + 999) / 1000;
await WaitForAsync(async () => await db.StreamLengthAsync(Topics.NotificationRequested) - before >= expectedBatches);
var published = clock.Elapsed;

var rate = present / published.TotalSeconds;
Console.WriteLine($"targeting ThreatLevelChanged -> {expectedBatches} NotificationRequested batches written to the outbox: {written.TotalMilliseconds:N0} ms");
Console.WriteLine($"targeting ThreatLevelChanged -> last batch in Redis (via outbox relay + dev sidecar bulk publish): {published.TotalMilliseconds:N0} ms");
Console.WriteLine($"rate      {rate:N0} recipients/s vs raw XADD {xaddRate:N0} entries/s = {rate / xaddRate:N2}x (target >= 0.5x)");

static ThreatLevelChanged Change(string country) => new()
{
    EventId = Guid.NewGuid().ToString(),
    AssessmentId = country,
    Version = 1,
    Sequence = 1,
    Area = new Area { CountryCode = country },
    PreviousLevel = ThreatLevel.AvoidNonEssential,
    NewLevel = ThreatLevel.DoNotTravel,
    Summary = new LocalizedText { Fr = "Coup d'État en cours.", En = "Coup under way." },
    Advice = new LocalizedText { Fr = "Restez à votre domicile.", En = "Stay at home." },
    EffectiveTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    ChangedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    Reason = "benchmark",
    Author = "bench",
    ApprovalMode = ApprovalMode.Emergency,
    ChangeId = Guid.NewGuid().ToString(),
};

static async Task<long> UnsentAsync(ServiceHost host)
{
    var database = host.App.Services.GetRequiredService<Dcis.Crisis.Shared.Storage.SqliteDatabase>();
    await using var connection = await database.OpenAsync(default);
    await using var command = Dcis.Crisis.Shared.Storage.SqliteCommandExtensions.Command(connection, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL");
    return (long)(await command.ExecuteScalarAsync())!;
}

static async Task WaitForAsync(Func<Task<bool>> condition)
{
    var deadline = DateTime.UtcNow.AddMinutes(5);
    while (!await condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException("batches did not reach Redis within 5 minutes");
        }

        await Task.Delay(5);
    }
}
