using System.Net;
using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Events;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.WellKnownTypes;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Events;

/// <summary>The hand-written NotificationRequested reader gives what ProtoJson.Parse gives, for every input.</summary>
public sealed class NotificationRequestedJsonParserTests
{
    private static readonly string[] Texts =
    [
        "", "reg-1", "Quittez le pays. \"Citation\" \\ barre / <b>gras</b> & 'apostrophe'", "ligne 1\nligne 2\r\n\ttab \u0001 \u001f \u007f",
        "éàüß 中文 русский 😀 🇫🇷 \u2028 \ufeff \u200b", "+33612345678", "person@example.org", new string('x', 3000),
    ];

    [Fact]
    public void Canonical_Json_Of_Varied_Requests_Is_Read_By_The_Fast_Path_As_ProtoJson_Reads_It()
    {
        var random = new Random(7);
        for (var n = 0; n < 200; n++)
        {
            var request = RandomRequest(random);
            var json = Encoding.UTF8.GetBytes(ProtoJson.Format(request));

            Assert.True(NotificationRequestedJsonParser.TryParse(json, out var fast), ProtoJson.Format(request));
            Assert.Equal(ProtoJson.Parse<NotificationRequested>(new ArraySegment<byte>(json)), fast);
            Assert.Equal(request, fast);
        }
    }

    public static TheoryData<string> OtherForms() =>
    [
        // Original proto field names, numbers as strings or in other spellings, enum numbers, nulls, unknown fields and enum names,
        // a field twice, escaped names, whitespace: each either read the same by the fast path or handed to ProtoJson.
        """{"event_id":"e1","source":"consular","source_alert_id":"a","alert_version":"3","recipients":[{"recipient_id":"r1"}]}""",
        """{"eventId":"e1","alertVersion":3,"batchIndex":"2","batchCount":1e1,"priority":2,"action":"NOTIFICATION_ACTION_CANCEL"}""",
        """{"eventId":"e1","alertVersion":"+3","priority":"PRIORITY_NOPE","unknownField":{"x":[1,2,null]},"recipients":[]}""",
        """{"eventId":null,"source":"s","expiresAt":null,"recipients":null,"messages":[{"language":1,"subject":"s","body":null}]}""",
        """{"eventId":"e1","eventId":"e2"}""",
        """{"\u0065ventId":"e1","source":"\u00e9t\u00e9 \ud83d\ude00","alertVersion":"-9223372036854775808"}""",
        """  {  "eventId" : "e1" ,  "recipients" : [ { "recipientId" : "r" , "addresses" : [ { "channel" : "CHANNEL_SMS" , "address" : "+33" } ] } ] }  """,
        """{"expiresAt":"2026-11-30T00:10:00.123456789Z","requestedAt":"2026-11-30T01:10:00+01:00","recipients":[{"language":"LANGUAGE_EN","replyCode":"X"}]}""",
        """{"expiresAt":"not a time"}""",
        """{"expiresAt":"2026-11-30T00:10:60Z"}""",
        """{"expiresAt":"2026-02-30T00:10:00Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00.1Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00.12Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00.1234Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00.123x56Z"}""",
        """{"expiresAt":"2026-11-30 00:10:00Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00z"}""",
        """{"expiresAt":"0001-01-01T00:00:00Z","requestedAt":"9999-12-31T23:59:59.999999999Z"}""",
        """{"expiresAt":"1969-12-31T23:59:59.500Z","requestedAt":"1970-01-01T00:00:00.000000001Z"}""",
        """{"expiresAt":"2026-11-30T00:10:00\u005a"}""",
        """{"expiresAt":"２026-11-30T00:10:00Z"}""",
        """{"alertVersion":"99999999999999999999"}""",
        """{"alertVersion":1.5}""",
        """{"batchIndex":007}""",
        """{"recipients":[{"addresses":[{"channel":42,"address":"a"},{"channel":"CHANNEL_UNKNOWN"}]}]}""",
        """{"messages":[{"language":"LANGUAGE_FR","subject":"a","subject":"b"}]}""",
        """{"source":"unpaired \ud83d"}""",
        """{"eventId":"e1"} {"eventId":"e2"}""",
        """{"eventId":"e1",}""",
        """[{"eventId":"e1"}]""",
        """{"eventId":"e1" """,
        """{}""",
        "",
    ];

    [Theory]
    [MemberData(nameof(OtherForms))]
    public void Any_Other_Form_Gives_What_ProtoJson_Gives(string json)
    {
        var bytes = new ArraySegment<byte>(Encoding.UTF8.GetBytes(json));
        var parser = new NotificationRequestedJsonParser();
        NotificationRequested? expected = null;
        Exception? expectedError = null;
        try
        {
            expected = ProtoJson.Parse<NotificationRequested>(bytes);
        }
        catch (Exception ex)
        {
            expectedError = ex;
        }

        if (expectedError is null)
        {
            Assert.Equal(expected, parser.Parse(bytes));
        }
        else
        {
            Assert.Equal(expectedError.GetType(), Assert.ThrowsAny<Exception>(() => parser.Parse(bytes)).GetType());
        }
    }

    [Fact]
    public void Invalid_Utf8_Is_Read_As_ProtoJson_Reads_It()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"eventId":"e1","source":"AB"}""");
        bytes[^3] = 0xff;
        Assert.Equal(ProtoJson.Parse<NotificationRequested>(new ArraySegment<byte>(bytes)), new NotificationRequestedJsonParser().Parse(new ArraySegment<byte>(bytes)));
    }

    [Fact]
    public async Task The_Subscription_Endpoint_Uses_It_For_Requests_Posted_As_CloudEvents()
    {
        await using var h = await StartAsync();
        var request = Request("alert-fast-parse", SmsRecipients(3), h.Clock.GetUtcNow());
        request.Recipients[1].ReplyCode = "R-\"1\"";
        var envelope = $$"""{"specversion":"1.0","id":"{{request.EventId}}","source":"consular","type":"t","datacontenttype":"application/json","data":{{ProtoJson.Format(request)}}}""";
        using var content = new StringContent(envelope, Encoding.UTF8, "application/cloudevents+json");
        using var response = await h.Http.PostAsync(new Uri(h.Service.HttpAddress, $"/events/{Topics.NotificationRequested}"), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE source_alert_id = 'alert-fast-parse'"));
        Assert.Equal(1, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE reply_code = 'R-\"1\"'"));
        Assert.IsType<NotificationRequestedJsonParser>(h.Service.App.Services.GetRequiredService<IEventDataParser<NotificationRequested>>());
    }

    private static NotificationRequested RandomRequest(Random random)
    {
        string Text() => Texts[random.Next(Texts.Length)];
        T Pick<T>(params T[] values) => values[random.Next(values.Length)];
        Timestamp? Time() => random.Next(4) == 0 ? null : new Timestamp
        {
            Seconds = random.NextInt64(0, 253402300799),
            Nanos = Pick(0, 123_000_000, 123_456_000, 123_456_789, 999_999_999),
        };

        var request = new NotificationRequested
        {
            EventId = Text(),
            Source = Text(),
            SourceAlertId = Text(),
            AlertVersion = Pick(0L, 1L, -1L, long.MaxValue, long.MinValue, random.NextInt64()),
            BatchIndex = Pick(0, 1, -1, int.MaxValue, int.MinValue),
            BatchCount = random.Next(),
            Priority = Pick(Priority.Unspecified, Priority.Routine, Priority.Urgent, (Priority)77),
            ExpiresAt = Time(),
            RequestedAt = Time(),
            Action = Pick(NotificationAction.Unspecified, NotificationAction.Deliver, NotificationAction.Cancel, (NotificationAction)(-3)),
            CauseTraceparent = Pick("", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        };
        for (var i = random.Next(4); i > 0; i--)
        {
            request.Messages.Add(new LocalizedMessage { Language = Pick(Language.Unspecified, Language.Fr, Language.En, (Language)9), Subject = Text(), Body = Text() });
        }

        for (var i = random.Next(30); i > 0; i--)
        {
            var recipient = new Recipient { RecipientId = Text(), Language = Pick(Language.Unspecified, Language.Fr, Language.En), ReplyCode = Pick("", Text()) };
            for (var j = random.Next(4); j > 0; j--)
            {
                recipient.Addresses.Add(new ChannelAddress { Channel = Pick(Channel.Unspecified, Channel.Email, Channel.Sms, Channel.AppInbox, Channel.Webhook, (Channel)12), Address = Text() });
            }

            request.Recipients.Add(recipient);
        }

        return request;
    }
}
