using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Shared.Tests.Events;

/// <summary>Event data arrives as UTF-8 bytes: small and large bodies, with or without a byte order mark, parse alike.</summary>
public sealed class ProtoJsonTests
{
    private static ThreatLevelChanged Event(int summaryLength) => new()
    {
        EventId = "evt-1",
        AssessmentId = "ML",
        Area = new Area { CountryCode = "ML" },
        PreviousLevel = ThreatLevel.Increased,
        NewLevel = ThreatLevel.AvoidNonEssential,
        Version = 7,
        Summary = new LocalizedText { Fr = new string('é', summaryLength), En = "Situation worsening." },
    };

    [Theory]
    [InlineData(20, false)]
    [InlineData(20, true)]
    [InlineData(40_000, false)]
    [InlineData(40_000, true)]
    public void Utf8_Data_Parses_As_Its_Text_Does(int summaryLength, bool byteOrderMark)
    {
        var expected = Event(summaryLength);
        var json = ProtoJson.Format(expected);
        var bytes = Encoding.UTF8.GetBytes(json);
        if (byteOrderMark)
        {
            bytes = [0xEF, 0xBB, 0xBF, .. bytes];
        }

        // Inside a larger buffer, as the subscription endpoint hands it over (a pooled array).
        var buffer = new byte[bytes.Length + 10];
        bytes.CopyTo(buffer, 5);
        var parsed = ProtoJson.Parse<ThreatLevelChanged>(new ArraySegment<byte>(buffer, 5, bytes.Length));

        Assert.Equal(expected, parsed);
        Assert.Equal(ProtoJson.Parse<ThreatLevelChanged>(json), parsed);
    }

    [Fact]
    public void Format_Gives_The_Formatters_Text_Each_Time_Its_Kept_Writer_Is_Reused()
    {
        // The thread's writer is reused: a long event (past the size it keeps), a short one after a long
        // one, and the same one twice must each come out whole and alone.
        var fresh = new Google.Protobuf.JsonFormatter(Google.Protobuf.JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
        foreach (var length in new[] { 3_000, 20, 100_000, 20, 20, 0 })
        {
            var message = Event(length);
            Assert.Equal(fresh.Format(message), ProtoJson.Format(message));
        }
    }

    [Fact]
    public void Unknown_Fields_Are_Ignored_In_Utf8_Data()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"eventId\":\"evt-2\",\"addedLater\":{\"x\":1}}");

        Assert.Equal("evt-2", ProtoJson.Parse<ThreatLevelChanged>(new ArraySegment<byte>(bytes)).EventId);
    }
}
