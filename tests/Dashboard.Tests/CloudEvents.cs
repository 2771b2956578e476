using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf;

namespace Dcis.Crisis.Dashboard.Tests;

/// <summary>Delivers an event to the dashboard exactly as a Dapr sidecar does: a structured CloudEvent POSTed
/// to the subscription route with Content-Type application/cloudevents+json.</summary>
internal static class CloudEvents
{
    private static readonly HttpClient Http = new();

    public static async Task<HttpResponseMessage> DeliverAsync(Uri callbackBase, string topic, IMessage message, string? id = null, string? route = null)
    {
        var data = ProtoJson.Format(message);
        var envelope = $$"""
            {"specversion":"1.0","id":{{JsonSerializer.Serialize(id ?? Guid.NewGuid().ToString())}},"source":"tests","type":{{JsonSerializer.Serialize(message.Descriptor.FullName)}},
             "topic":{{JsonSerializer.Serialize(topic)}},"pubsubname":"crisis-pubsub","datacontenttype":"application/json","data":{{data}}}
            """;
        using var content = new StringContent(envelope, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
        var response = await Http.PostAsync(new Uri(callbackBase, "events/" + (route ?? topic)), content);
        return response;
    }

    public static async Task DeliverOkAsync(Uri callbackBase, string topic, IMessage message, string? id = null, string? route = null)
    {
        using var response = await DeliverAsync(callbackBase, topic, message, id, route);
        response.EnsureSuccessStatusCode();
    }
}
