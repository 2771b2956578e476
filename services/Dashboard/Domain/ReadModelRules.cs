using System.Security.Cryptography;
using System.Text;
using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Dashboard.Domain;

/// <summary>How delivery statuses fold into one progress figure per recipient.</summary>
public static class DeliveryRules
{
    /// <summary>
    /// Rank of a status: a recipient's progress keeps the highest rank seen, so a late "sent" never
    /// undoes "failed" or "delivered", and a failed channel followed by a delivered fallback counts
    /// once, as delivered.
    /// </summary>
    public static int Rank(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Queued => 1,
        DeliveryStatus.Sent => SentRank,
        DeliveryStatus.Failed or DeliveryStatus.Expired or DeliveryStatus.Cancelled => FailedRank,
        DeliveryStatus.Delivered => DeliveredRank,
        DeliveryStatus.Read => ReadRank,
        _ => 0,
    };

    /// <summary>Rank of sent (handed to the channel, no outcome yet).</summary>
    public const int SentRank = 2;

    /// <summary>Rank of failed, expired or cancelled with no success (yet) on a fallback channel.</summary>
    public const int FailedRank = 3;

    /// <summary>Rank of delivered.</summary>
    public const int DeliveredRank = 4;

    /// <summary>Rank of read (acknowledged by the person).</summary>
    public const int ReadRank = 5;

    /// <summary>
    /// The dashboard never keeps a recipient id: it keeps a hash salted with the alert id, enough to
    /// count each person once per alert but useless to follow a person from one alert to another.
    /// </summary>
    public static string RecipientRef(string sourceAlertId, string recipientId)
    {
        ArgumentNullException.ThrowIfNull(sourceAlertId);
        ArgumentNullException.ThrowIfNull(recipientId);
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(sourceAlertId + "\n" + recipientId));
        return Convert.ToHexString(bytes, 0, 12);
    }
}

/// <summary>Where on the map an area is marked.</summary>
public static class AreaRules
{
    /// <summary>True when the area is a whole country (no zone inside it).</summary>
    public static bool IsWholeCountry(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        return area.SubdivisionCodes.Count == 0 && area.Polygon is null && area.Circle is null;
    }

    /// <summary>A point for a marker: the circle's centre or the polygon's vertex mean; null for a whole country
    /// or subdivisions (the map then marks the country itself).</summary>
    public static (double Lat, double Lng)? Marker(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        if (area.Circle?.Center is { } c)
        {
            return (c.Latitude, c.Longitude);
        }

        if (area.Polygon is { Vertices.Count: > 0 } p)
        {
            return (p.Vertices.Average(v => v.Latitude), p.Vertices.Average(v => v.Longitude));
        }

        return null;
    }
}

/// <summary>Dead letters: what the dashboard may keep of them.</summary>
public static class DeadLetterRules
{
    /// <summary>
    /// notification-requested carries recipients' addresses (personal data): the dashboard records that it
    /// died, never its payload, so it cannot be replayed from here (the requesting service's outbox can).
    /// </summary>
    public static bool KeepsPayload(string topic) =>
        !string.Equals(topic, Shared.Events.Topics.NotificationRequested, StringComparison.Ordinal);
}
