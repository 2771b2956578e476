using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Testing;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Events;

/// <summary>One notifications service for the CloudEvent form tests (each test uses its own alert id).</summary>
public sealed class CloudEventFormsFixture : IAsyncLifetime
{
    public Harness H { get; private set; } = null!;

    public async Task InitializeAsync() => H = await StartAsync();

    public async Task DisposeAsync() => await H.DisposeAsync();
}

/// <summary>
/// The subscription endpoint reads the CloudEvent envelope itself (the Dapr CloudEvents middleware is skipped for it):
/// every form Dapr delivers must give the handler what the middleware gave it.
/// </summary>
public sealed class CloudEventFormsTests(CloudEventFormsFixture fixture) : IClassFixture<CloudEventFormsFixture>
{
    private Harness H => fixture.H;

    [Fact]
    public async Task Data_As_A_Json_Object_Is_The_Event()
    {
        var request = Request("form-object", SmsRecipients(2, "obj"), H.Clock.GetUtcNow());

        using var response = await PostAsync(Envelope(request, "\"datacontenttype\":\"application/json\",\"data\":" + ProtoJson.Format(request)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, await CountAsync("form-object"));
    }

    [Fact]
    public async Task Attribute_Names_Match_Ignoring_Case_And_A_Missing_Content_Type_Means_Json()
    {
        var request = Request("form-case", SmsRecipients(2, "case"), H.Clock.GetUtcNow());

        using var response = await PostAsync(Envelope(request, "\"DATA\":" + ProtoJson.Format(request)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, await CountAsync("form-case"));
    }

    [Fact]
    public async Task Data_As_A_String_With_A_Text_Content_Type_Is_Parsed_From_The_String()
    {
        var request = Request("form-text", SmsRecipients(3, "text"), H.Clock.GetUtcNow());
        var data = System.Text.Json.JsonSerializer.Serialize(ProtoJson.Format(request));

        using var response = await PostAsync(Envelope(request, "\"datacontenttype\":\"text/plain\",\"data\":" + data));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, await CountAsync("form-text"));
    }

    [Fact]
    public async Task Data_As_A_String_With_A_Json_Content_Type_Is_A_Json_String_Not_An_Event_And_Is_Dropped()
    {
        var request = Request("form-jsonstring", SmsRecipients(1, "js"), H.Clock.GetUtcNow());
        var data = System.Text.Json.JsonSerializer.Serialize(ProtoJson.Format(request));

        using var response = await PostAsync(Envelope(request, "\"datacontenttype\":\"application/json\",\"data\":" + data));

        Assert.Contains("DROP", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync("form-jsonstring"));
    }

    [Fact]
    public async Task Data_Base64_Is_Decoded_Then_Parsed()
    {
        var request = Request("form-base64", SmsRecipients(4, "b64"), H.Clock.GetUtcNow());
        var data = Convert.ToBase64String(Encoding.UTF8.GetBytes(ProtoJson.Format(request)));

        using var response = await PostAsync(Envelope(request, $"\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"{data}\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, await CountAsync("form-base64"));
    }

    [Fact]
    public async Task Data_And_Data_Base64_Together_Are_A_Bad_Request_And_Nothing_Is_Stored()
    {
        var request = Request("form-both", SmsRecipients(1, "both"), H.Clock.GetUtcNow());
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(ProtoJson.Format(request)));

        using var response = await PostAsync(Envelope(request, $"\"data\":{ProtoJson.Format(request)},\"data_base64\":\"{base64}\""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await CountAsync("form-both"));
    }

    [Fact]
    public async Task An_Envelope_In_Another_Charset_Is_Decoded()
    {
        var request = Request("form-utf16", SmsRecipients(2, "u16"), H.Clock.GetUtcNow());
        using var content = new StringContent(Envelope(request, "\"datacontenttype\":\"application/json\",\"data\":" + ProtoJson.Format(request)), Encoding.Unicode);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json") { CharSet = "utf-16" };

        using var response = await H.Http.PostAsync(Route(), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, await CountAsync("form-utf16"));
    }

    [Fact]
    public async Task A_Raw_Payload_Is_The_Event_Itself()
    {
        var request = Request("form-raw", SmsRecipients(2, "raw"), H.Clock.GetUtcNow());
        using var content = new StringContent(ProtoJson.Format(request), Encoding.UTF8, "application/json");

        using var response = await H.Http.PostAsync(Route(), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, await CountAsync("form-raw"));
    }

    [Fact]
    public async Task Data_That_Is_Not_Proto_Json_Or_Not_Json_Is_Dropped()
    {
        var request = Request("form-bad", SmsRecipients(1, "bad"), H.Clock.GetUtcNow());

        using var wrongType = await PostAsync(Envelope(request, "\"datacontenttype\":\"application/json\",\"data\":{\"alertVersion\":\"not-a-number\"}"));
        using var notJson = await PostAsync(Envelope(request, "\"datacontenttype\":\"text/plain\",\"data\":\"{not json\""));

        Assert.Contains("DROP", await wrongType.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("DROP", await notJson.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync("form-bad"));
    }

    [Fact]
    public async Task Other_Endpoints_Under_Events_Still_Get_The_Body_Unwrapped_By_The_Middleware()
    {
        // A hand-mapped route (as the dashboard's dead-letter routes are) keeps Dapr's UseCloudEvents behaviour.
        await using var probe = await ServiceHost.StartAsync(args =>
        {
            var builder = WebApplication.CreateBuilder(args);
            builder.AddCrisisDefaults("probe", 0, 0);
            var app = builder.Build();
            app.MapCrisisDefaults();
            app.MapPost("events/probe-dead", async (HttpContext http) =>
            {
                using var reader = new StreamReader(http.Request.Body);
                return Results.Text($"{http.Request.ContentType}|{http.Request.Headers["Cloudevent.id"]}|{await reader.ReadToEndAsync()}");
            }).AllowAnonymous();
            return app;
        });
        using var content = new StringContent("""{"specversion":"1.0","id":"ev-9","type":"t","datacontenttype":"application/json","data":{"a":1}}""", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");

        using var response = await H.Http.PostAsync(new Uri(probe.HttpAddress, "/events/probe-dead"), content);

        Assert.Equal("application/json|ev-9|{\"a\":1}", await response.Content.ReadAsStringAsync());
    }

    private static string Envelope(NotificationRequested request, string data) =>
        $$"""{"specversion":"1.0","id":"{{request.EventId}}","source":"consular","type":"{{NotificationRequested.Descriptor.FullName}}","topic":"{{Topics.NotificationRequested}}","pubsubname":"{{Topics.PubSub}}",{{data}}}""";

    private Uri Route() => new(H.Service.HttpAddress, $"/events/{Topics.NotificationRequested}");

    private async Task<HttpResponseMessage> PostAsync(string envelope)
    {
        using var content = new StringContent(envelope, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
        return await H.Http.PostAsync(Route(), content);
    }

    private Task<long> CountAsync(string alertId) =>
        H.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE source_alert_id = '{alertId}'");
}
