using System.Globalization;
using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.SmsSink;
using Dcis.Crisis.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Fault;

public sealed class KillNineTests(ITestOutputHelper output)
{
    private const int Recipients = 10_000;
    private const int BatchSize = 1_000;

    [Fact]
    public async Task Killed_Mid_Request_And_Restarted_Every_Recipient_Gets_Exactly_One_Message()
    {
        await using var sms = await ServiceHost.StartAsync(SmsSinkApp.Create);
        using var dataDir = new TempDirectory("dcis-notif-kill");
        using var http = new HttpClient();
        var environment = new Dictionary<string, string>
        {
            ["Notifications__SmsGatewayUrl"] = new Uri(sms.HttpAddress, "/api/sms").ToString(),
            ["Notifications__SmsRatePerSecond"] = "2000",
            ["Notifications__ClaimBatchSize"] = "200",
        };
        var batches = Batches();

        var service = await ServiceProcess.StartAsync("Notifications", dataDir.Path, environment);
        long atKill;
        try
        {
            foreach (var batch in batches)
            {
                await PostAsync(http, service, batch);
            }

            atKill = await WaitForAsync(async () => (await Stats(http, sms)).Messages, n => n >= 2_000);
            await service.KillAsync();
            atKill = (await Stats(http, sms)).Messages;
            output.WriteLine($"killed with {atKill} of {Recipients} messages at the gateway");
            Assert.InRange(atKill, 1, Recipients - 1);

            await service.LaunchAsync();
            foreach (var batch in batches)
            {
                await PostAsync(http, service, batch);   // the sidecar redelivers what was never acknowledged
            }

            await WaitForAsync(() => CountAsync(dataDir.Path, $"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Sent}"), n => n >= Recipients);
        }
        finally
        {
            output.WriteLine(service.Output);
            await service.DisposeAsync();
        }

        var messages = await http.GetFromJsonAsync<List<SmsRecord>>(new Uri(sms.HttpAddress, "/api/messages?limit=100000"));
        var stats = await Stats(http, sms);
        output.WriteLine($"gateway: {stats.Messages} messages, {stats.Duplicates} resubmissions absorbed by the client reference");
        Assert.Equal(Recipients, messages!.Count);
        Assert.Equal(Recipients, messages.Select(m => m.To).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Recipients, await CountAsync(dataDir.Path, "SELECT COUNT(*) FROM deliveries"));
        Assert.Equal(0, await CountAsync(dataDir.Path, $"SELECT COUNT(*) FROM deliveries WHERE status <> {(int)DeliveryStatus.Sent}"));
    }

    private static List<NotificationRequested> Batches()
    {
        var now = DateTimeOffset.UtcNow;
        return Enumerable.Range(0, Recipients / BatchSize).Select(b =>
        {
            var request = Request("alert-kill", SmsRecipients(BatchSize, $"b{b}", $"+33{b}"), now);
            request.BatchIndex = b;
            request.BatchCount = Recipients / BatchSize;
            return request;
        }).ToList();
    }

    private static async Task PostAsync(HttpClient http, ServiceProcess service, NotificationRequested request)
    {
        var body = $$"""
            {"specversion":"1.0","id":"{{request.EventId}}","source":"consular","type":"{{NotificationRequested.Descriptor.FullName}}",
             "datacontenttype":"application/json","topic":"{{Topics.NotificationRequested}}","pubsubname":"{{Topics.PubSub}}","data":{{ProtoJson.Format(request)}}}
            """;
        using var content = new StringContent(body, Encoding.UTF8, "application/cloudevents+json");
        using var response = await http.PostAsync(new Uri(service.HttpAddress, $"/events/{Topics.NotificationRequested}"), content);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<SmsStats> Stats(HttpClient http, ServiceHost sms) =>
        (await http.GetFromJsonAsync<SmsStats>(new Uri(sms.HttpAddress, "/api/stats")))!;

    private static async Task<long> CountAsync(string dataDir, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "notifications.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<long> WaitForAsync(Func<Task<long>> read, Func<long, bool> done)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(20);
        }
    }
}
