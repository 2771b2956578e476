using System.Security.Cryptography;
using System.Text;
using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Notifications.Domain;

/// <summary>One way to reach a recipient.</summary>
public sealed record Address(Channel Channel, string Value);

/// <summary>What a provider is asked to send: one message to one address of one recipient.</summary>
/// <remarks><see cref="ProviderReference"/> is what the provider is handed it with (SMS client reference, e-mail Message-Id).</remarks>
public sealed record OutgoingMessage(
    long DeliveryId,
    string IdempotencyKey,
    string Source,
    string SourceAlertId,
    long AlertVersion,
    string RecipientId,
    Address Address,
    Priority Priority,
    Language Language,
    string Subject,
    string Body,
    string? ReplyCode,
    int AddressIndex = 0)
{
    /// <summary><see cref="DeliveryRules.ProviderReference"/> of this message.</summary>
    public string ProviderReference => DeliveryRules.ProviderReference(DeliveryId, AddressIndex, IdempotencyKey);
}

/// <summary>How a provider call ended.</summary>
public enum SendOutcome
{
    /// <summary>Accepted by the channel.</summary>
    Sent,

    /// <summary>Failed in a way that may pass on a retry (timeout, 4xx SMTP, 5xx HTTP).</summary>
    Transient,

    /// <summary>Failed for good on this address (5xx SMTP, rejected number): fall back now.</summary>
    Permanent,
}

/// <summary>A provider's answer; the reason never contains personal data.</summary>
public sealed record SendResult(SendOutcome Outcome, string? Reason = null)
{
    public static readonly SendResult Ok = new(SendOutcome.Sent);
}

/// <summary>One channel's delivery mechanism. Implementations should be idempotent on
/// <see cref="OutgoingMessage.IdempotencyKey"/> where the channel allows it, so that a resend after a
/// crash between the provider call and recording its result reaches the person once.</summary>
public interface IChannelProvider
{
    /// <summary>The channel served.</summary>
    Channel Channel { get; }

    /// <summary>Sends one message.</summary>
    Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken);
}

/// <summary>Delivery rules that need no storage.</summary>
public static class DeliveryRules
{
    /// <summary>Stored status of a delivery whose provider call is in flight (not a wire status).</summary>
    public const int Sending = 100;

    /// <summary>The stable key of one message to one person: the same across retries, redeliveries and
    /// restarts. Providers use it as SMTP Message-Id, SMS client reference and inbox uniqueness.</summary>
    /// <remarks>The first 16 bytes of SHA-256 over UTF-8 "source\nalert id\nversion\nrecipient id", in lower-case hex.
    /// Computed once per recipient at intake, so built on the stack: no joined string, byte array or 64-character hex string.</remarks>
    public static string IdempotencyKey(string source, string sourceAlertId, long alertVersion, string recipientId)
    {
        source ??= string.Empty;
        sourceAlertId ??= string.Empty;
        recipientId ??= string.Empty;
        var max = Encoding.UTF8.GetMaxByteCount(source.Length + sourceAlertId.Length + recipientId.Length) + 23;
        byte[]? rented = null;
        Span<byte> text = max <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = Encoding.UTF8.GetBytes(source, text);
            text[n++] = (byte)'\n';
            n += Encoding.UTF8.GetBytes(sourceAlertId, text[n..]);
            text[n++] = (byte)'\n';
            alertVersion.TryFormat(text[n..], out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            n += written;
            text[n++] = (byte)'\n';
            n += Encoding.UTF8.GetBytes(recipientId, text[n..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(text[..n], hash);
            return Convert.ToHexStringLower(hash[..16]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The reference a message is handed to a provider with, <c>{delivery id}.{address index}.{idempotency key}</c>:
    /// an SMS's client reference, an e-mail's Message-Id before the <c>@</c>.</summary>
    /// <remarks>Providers drop a second submission with the same reference, and hand it back on their delivery receipts
    /// and bounces. So it must stay the same when the same address is tried again (after a crash or a retry), differ for
    /// a person's second number or address (or the provider would drop that message as a repeat), and lead back to the
    /// row without an index: the id finds it, the key proves the receipt is about this message.</remarks>
    public static string ProviderReference(long deliveryId, int addressIndex, string idempotencyKey) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{deliveryId}.{addressIndex}.{idempotencyKey}");

    /// <summary>Reads what <see cref="ProviderReference"/> wrote, also as a Message-Id (<c>&lt;reference@domain&gt;</c>);
    /// false for anything else.</summary>
    public static bool TryParseProviderReference(string? reference, out long deliveryId, out int addressIndex, out string idempotencyKey)
    {
        deliveryId = 0;
        addressIndex = 0;
        idempotencyKey = string.Empty;
        var text = (reference ?? string.Empty).Trim().TrimStart('<').TrimEnd('>');
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var parts = (at < 0 ? text : text[..at]).Split('.');
        if (parts.Length != 3 || parts[2].Length == 0
            || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out deliveryId)
            || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out addressIndex))
        {
            return false;
        }

        idempotencyKey = parts[2];
        return true;
    }

    /// <summary>Delay before try number <paramref name="attempt"/> (1-based) on the same address.</summary>
    public static TimeSpan Backoff(TimeSpan baseDelay, int attempt) =>
        TimeSpan.FromTicks(baseDelay.Ticks * (1L << Math.Clamp(attempt - 1, 0, 10)));

    /// <summary>What happens after a provider result: retry the same address, fall back, or stop.</summary>
    public static NextStep Decide(SendResult result, int attemptsOnAddress, int addressIndex, int addressCount, int maxAttemptsPerAddress)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Outcome == SendOutcome.Sent)
        {
            return NextStep.Done;
        }

        if (result.Outcome == SendOutcome.Transient && attemptsOnAddress < maxAttemptsPerAddress)
        {
            return NextStep.Retry;
        }

        return addressIndex + 1 < addressCount ? NextStep.Fallback : NextStep.Failed;
    }

    /// <summary>Encodes addresses for storage (channel number and address, unit/record separators).</summary>
    public static string EncodeAddresses(IEnumerable<Address> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var encoded = new StringBuilder(64);
        foreach (var a in addresses)
        {
            if (encoded.Length > 0)
            {
                encoded.Append('\u001e');
            }

            encoded.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(int)a.Channel}").Append('\u001f').Append(a.Value);
        }

        return encoded.ToString();
    }

    /// <summary>Decodes what <see cref="EncodeAddresses"/> wrote.</summary>
    public static IReadOnlyList<Address> DecodeAddresses(string? encoded)
    {
        if (string.IsNullOrEmpty(encoded))
        {
            return [];
        }

        var addresses = new List<Address>(2);
        var text = encoded.AsSpan();
        foreach (var range in text.Split('\u001e'))
        {
            var part = text[range];
            var separator = part.IndexOf('\u001f');
            addresses.Add(new Address((Channel)int.Parse(part[..separator], System.Globalization.CultureInfo.InvariantCulture), part[(separator + 1)..].ToString()));
        }

        return addresses;
    }
}

/// <summary>What to do with a delivery after a provider call.</summary>
public enum NextStep
{
    /// <summary>Sent: record it.</summary>
    Done,

    /// <summary>Try the same address again after a backoff.</summary>
    Retry,

    /// <summary>Move to the next address now.</summary>
    Fallback,

    /// <summary>Every address failed.</summary>
    Failed,
}
