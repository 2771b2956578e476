using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Notifications.Tests.Storage;

/// <summary>The hand-written NotificationStatusChanged JSON is the text ProtoJson.Format writes for the same message.</summary>
public sealed class StatusEventJsonTests
{
    private static readonly long At = DateTimeOffset.Parse("2026-11-30T00:10:00.123Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    public static TheoryData<string> Texts() =>
    [
        "reg-1",
        "",
        "quote \" backslash \\ slash / tab \t newline \n cr \r bell \a backspace \b formfeed \f nul \0 us \u001f",
        "html <script>alert('x')</script> & = '",
        "del \u007f c1 \u0080 \u0085 \u009f nbsp \u00a0 soft \u00ad",
        "accents éàüß 中文 ελληνικά русский",
        "emoji 😀 pair \ud83d\ude00 flag 🇫🇷",
        "invisible \u200b\u200c\u200d\u200e\u200f \u2028\u2029 \u202a\u202e \u2060\u2064 \u206a\u206f \ufeff \ufff9\ufffa\ufffb",
        "arabic \u0600\u0603 \u06dd syriac \u070f khmer \u17b4\u17b5 \u2065 \u2069 \u0604 \ufffc",
        "smtp 550 5.1.1 <person@example.org>: mailbox unavailable",
    ];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Format_Matches_ProtoJson_For_Strings_That_Need_Escaping(string text)
    {
        TrailUpdate[] updates =
        [
            new(text, 3, text, Channel.Sms, DeliveryStatus.Failed, text, At),
            new("alert-" + text, 1, "reg-" + text, Channel.Email, DeliveryStatus.Sent, null, At + 877),
        ];
        AssertSameAsProtoJson(Guid.NewGuid().ToString(), "consular" + text, updates);
    }

    [Fact]
    public void Format_Matches_ProtoJson_For_Every_Character_Outside_Surrogates()
    {
        var all = new StringBuilder();
        for (var c = 0; c <= char.MaxValue; c++)
        {
            if (!char.IsSurrogate((char)c))
            {
                all.Append((char)c);
            }
        }

        AssertSameAsProtoJson("e", "s", [new(all.ToString(), 1, all.ToString(), Channel.AppInbox, DeliveryStatus.Read, all.ToString(), At)]);
    }

    [Fact]
    public void Format_Matches_ProtoJson_For_Default_And_Unusual_Values()
    {
        TrailUpdate[] updates =
        [
            // Defaults (empty strings, version 0, unspecified enums, no reason) are left out, as ProtoJson does.
            new("", 0, "", Channel.Unspecified, DeliveryStatus.Unspecified, "", 0),
            new("a", -7, "r", Channel.Webhook, DeliveryStatus.Cancelled, "alert cancelled", 1),
            new("a", long.MaxValue, "r", (Channel)42, (DeliveryStatus)99, null, At),
            new("a", long.MinValue, "r", Channel.Email, DeliveryStatus.Expired, "expired before sending", 253402300799999),
            new("a", 1, "r", Channel.AppInbox, DeliveryStatus.Delivered, null, At - 123),
            new("a", 1, "r", Channel.AppInbox, DeliveryStatus.Queued, null, -1001),
        ];
        AssertSameAsProtoJson("id", "consular", updates);
        AssertSameAsProtoJson("", "", updates);
        AssertSameAsProtoJson("id", "consular", []);
        AssertSameAsProtoJson("", "", []);
    }

    [Fact]
    public void Format_Rejects_Unpaired_Surrogates_Like_ProtoJson()
    {
        foreach (var bad in new[] { "a\ud83d", "\ude00b", "\ud83d x" })
        {
            Assert.ThrowsAny<ArgumentException>(() => ProtoJson.Format(new NotificationStatusChanged { Source = bad }));
            Assert.ThrowsAny<ArgumentException>(() => StatusEventJson.Format(new StringBuilder(), "e", bad, []));
        }
    }

    [Fact]
    public void Format_Reuses_The_Builder_Between_Events()
    {
        var builder = new StringBuilder();
        var first = StatusEventJson.Format(builder, "e1", "consular", [new("a", 1, "r1", Channel.Sms, DeliveryStatus.Sent, null, At)]);
        var second = StatusEventJson.Format(builder, "e2", "consular", [new("a", 1, "r2", Channel.Sms, DeliveryStatus.Sent, null, At)]);
        Assert.Equal("e1", ProtoJson.Parse<NotificationStatusChanged>(first).EventId);
        Assert.Equal("r2", Assert.Single(ProtoJson.Parse<NotificationStatusChanged>(second).Updates).RecipientId);
    }

    private static void AssertSameAsProtoJson(string eventId, string source, TrailUpdate[] updates)
    {
        var message = new NotificationStatusChanged { EventId = eventId, Source = source };
        foreach (var u in updates)
        {
            message.Updates.Add(new DeliveryStatusUpdate
            {
                SourceAlertId = u.SourceAlertId,
                AlertVersion = u.AlertVersion,
                RecipientId = u.RecipientId,
                Channel = u.Channel,
                Status = u.Status,
                Reason = u.Reason ?? string.Empty,
                At = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(u.AtMs)),
            });
        }

        Assert.Equal(ProtoJson.Format(message), StatusEventJson.Format(new StringBuilder(), eventId, source, updates));
    }
}
