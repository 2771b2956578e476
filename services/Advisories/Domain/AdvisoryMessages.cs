using System.Globalization;
using System.Text.Json;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>The outward forms of an advisory: the e-mail request, the webhook body, the counts event.</summary>
internal static class AdvisoryMessages
{
    public const string Source = "advisories";

    public static bool RequiresAcknowledgement(ThreatLevel level) => level >= ThreatLevel.AvoidNonEssential;

    public static Priority PriorityFor(ThreatLevel level) => level switch
    {
        ThreatLevel.DoNotTravel => Priority.Urgent,
        ThreatLevel.AvoidNonEssential => Priority.High,
        _ => Priority.Routine,
    };

    /// <summary>E-mail (with SMS fallback) to the company's security contacts; version 1 is the advisory, 2+ reminders.</summary>
    public static NotificationRequested? EmailRequest(Advisory advisory, IReadOnlyList<SecurityContact> contacts, long version, DateTimeOffset now)
    {
        if (contacts.Count == 0)
        {
            return null;
        }

        var reminder = version > 1;
        var request = new NotificationRequested
        {
            EventId = Guid.NewGuid().ToString(),
            Source = Source,
            SourceAlertId = advisory.AdvisoryId,
            AlertVersion = version,
            BatchIndex = 0,
            BatchCount = 1,
            Priority = PriorityFor(advisory.NewLevel),
            ExpiresAt = Timestamp.FromDateTimeOffset(now.AddHours(48)),
            Action = NotificationAction.Deliver,
            RequestedAt = Timestamp.FromDateTimeOffset(now),
        };
        foreach (var contact in contacts)
        {
            var recipient = new Recipient
            {
                RecipientId = contact.ContactId,
                Language = contact.Language == Language.Unspecified ? Language.Fr : contact.Language,
            };
            recipient.Addresses.Add(new ChannelAddress { Channel = Channel.Email, Address = contact.Email });
            if (!string.IsNullOrEmpty(contact.Phone))
            {
                recipient.Addresses.Add(new ChannelAddress { Channel = Channel.Sms, Address = contact.Phone });
            }

            request.Recipients.Add(recipient);
        }

        request.Messages.Add(new LocalizedMessage
        {
            Language = Language.Fr,
            Subject = Truncate((reminder ? "[Rappel — accusé de réception attendu] " : string.Empty) + advisory.Headline.Fr, 200),
            Body = Truncate(Body(advisory, fr: true), 4000),
        });
        request.Messages.Add(new LocalizedMessage
        {
            Language = Language.En,
            Subject = Truncate((reminder ? "[Reminder — acknowledgement expected] " : string.Empty) + advisory.Headline.En, 200),
            Body = Truncate(Body(advisory, fr: false), 4000),
        });
        return request;
    }

    public static AdvisoryIssued IssuedEvent(Advisory advisory) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        AdvisoryId = advisory.AdvisoryId,
        CompanyId = advisory.CompanyId,
        CauseEventId = advisory.CauseEventId,
        CauseType = CauseType(advisory.Cause),
        Area = advisory.Area,
        PreviousLevel = advisory.PreviousLevel,
        NewLevel = advisory.NewLevel,
        AffectedSites = advisory.AffectedSites.Count,
        AffectedTravellers = advisory.AffectedTravellers.Count,
        AcknowledgementRequired = advisory.AcknowledgementRequired,
        IssuedAt = advisory.IssuedAt,
        WaveId = advisory.CauseEventId,
    };

    /// <summary>The Standard Webhooks body: <c>{"type", "timestamp", "data"}</c> with the advisory's proto JSON as data.</summary>
    public static string WebhookBody(string type, Advisory? advisory, DateTimeOffset now)
    {
        var data = advisory is null ? "{}" : ProtoJson.Format(advisory);
        return "{\"type\":" + JsonSerializer.Serialize(type) + ",\"timestamp\":" +
               JsonSerializer.Serialize(now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)) +
               ",\"data\":" + data + "}";
    }

    public static string CauseType(AdvisoryCause cause) => cause switch
    {
        AdvisoryCause.LevelChanged => ThreatLevelChanged.Descriptor.FullName,
        AdvisoryCause.CrisisDeclared => CrisisDeclared.Descriptor.FullName,
        AdvisoryCause.CrisisClosed => CrisisClosed.Descriptor.FullName,
        AdvisoryCause.ConsularAlert => ConsularAlertIssued.Descriptor.FullName,
        _ => string.Empty,
    };

    private static string Body(Advisory a, bool fr)
    {
        var lines = new List<string> { fr ? a.Description.Fr : a.Description.En, string.Empty };
        if (a.AffectedSites.Count > 0)
        {
            lines.Add((fr ? "Sites concernés : " : "Sites affected: ") + string.Join(", ", a.AffectedSites.Select(s => s.Name)));
        }

        if (a.AffectedTravellers.Count > 0)
        {
            lines.Add((fr ? "Voyageurs concernés : " : "Travellers affected: ") +
                      string.Join(", ", a.AffectedTravellers.Select(t => t.TravellerReference)));
        }

        if (a.RecommendedMeasures.Count > 0)
        {
            lines.Add(fr ? "Mesures recommandées :" : "Recommended measures:");
            lines.AddRange(a.RecommendedMeasures.Select(m => "- " + (fr ? m.Fr : m.En)));
        }

        // The reference ties the e-mail to the advisory the company's system received (stream, webhook,
        // feed), and the way to acknowledge is said where the reader is: an e-mail alone said neither.
        lines.Add(string.Empty);
        lines.Add((fr ? "Référence de l'avis : " : "Advisory reference: ") + a.AdvisoryId);
        if (a.AcknowledgementRequired)
        {
            lines.Add(fr
                ? $"Merci d'en accuser réception : AcknowledgeAdvisory depuis votre système, ou « crisis advisories ack {a.AdvisoryId} »."
                : $"Please acknowledge it: AcknowledgeAdvisory from your system, or \"crisis advisories ack {a.AdvisoryId}\".");
        }

        return string.Join("\n", lines);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
