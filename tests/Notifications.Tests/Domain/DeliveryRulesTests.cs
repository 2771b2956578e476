using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;

namespace Dcis.Crisis.Notifications.Tests.Domain;

public sealed class DeliveryRulesTests
{
    [Fact]
    public void IdempotencyKey_Is_Stable_And_Differs_By_Version_And_Recipient()
    {
        var key = DeliveryRules.IdempotencyKey("consular", "alert-1", 2, "reg-1");
        Assert.Equal(key, DeliveryRules.IdempotencyKey("consular", "alert-1", 2, "reg-1"));
        Assert.NotEqual(key, DeliveryRules.IdempotencyKey("consular", "alert-1", 3, "reg-1"));
        Assert.NotEqual(key, DeliveryRules.IdempotencyKey("consular", "alert-1", 2, "reg-2"));
        Assert.Equal(32, key.Length);
    }

    [Theory]
    [InlineData("consular", "alert-1", 2L, "reg-1")]
    [InlineData("", "", 0L, "")]
    [InlineData("consular", "alerte-été-中文", -5L, "reg-😀")]
    [InlineData("consular", "unpaired \ud83d surrogate", long.MaxValue, "reg-\ude00")]
    public void IdempotencyKey_Is_The_Sha256_Prefix_Of_The_Joined_Fields(string source, string alertId, long version, string recipientId)
    {
        // The definition the stored keys were made with: a change of it would re-key resends of deliveries already stored.
        var text = string.Join('\n', source, alertId, version.ToString(System.Globalization.CultureInfo.InvariantCulture), recipientId);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..32];
        Assert.Equal(expected, DeliveryRules.IdempotencyKey(source, alertId, version, recipientId));
    }

    [Fact]
    public void IdempotencyKey_Of_Long_Fields_Is_The_Same_Definition()
    {
        var longId = new string('é', 5000);
        var text = string.Join('\n', "consular", longId, "1", "reg-1");
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..32];
        Assert.Equal(expected, DeliveryRules.IdempotencyKey("consular", longId, 1, "reg-1"));
    }

    [Theory]
    [InlineData(SendOutcome.Sent, 1, 0, 2, NextStep.Done)]
    [InlineData(SendOutcome.Transient, 1, 0, 2, NextStep.Retry)]
    [InlineData(SendOutcome.Transient, 3, 0, 2, NextStep.Fallback)]
    [InlineData(SendOutcome.Permanent, 1, 0, 2, NextStep.Fallback)]
    [InlineData(SendOutcome.Permanent, 1, 1, 2, NextStep.Failed)]
    [InlineData(SendOutcome.Transient, 3, 1, 2, NextStep.Failed)]
    public void Decide_Retries_Transient_Then_Falls_Back_Then_Fails(SendOutcome outcome, int attempts, int index, int count, NextStep expected) =>
        Assert.Equal(expected, DeliveryRules.Decide(new SendResult(outcome), attempts, index, count, maxAttemptsPerAddress: 3));

    [Fact]
    public void Backoff_Doubles_Per_Attempt() =>
        Assert.Equal(
            [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)],
            new[] { 1, 2, 3 }.Select(a => DeliveryRules.Backoff(TimeSpan.FromSeconds(2), a)).ToArray());

    [Fact]
    public void Address_Encoding_Is_The_Stored_Format()
    {
        // Rows written before keep this format: channel number, unit separator, address; record separator between addresses.
        Assert.Equal("1\u001fa@b.example\u001e2\u001f+33612345678", DeliveryRules.EncodeAddresses([new(Channel.Email, "a@b.example"), new(Channel.Sms, "+33612345678")]));
        Assert.Equal("-5\u001fx", DeliveryRules.EncodeAddresses([new((Channel)(-5), "x")]));
        Assert.Equal(string.Empty, DeliveryRules.EncodeAddresses([]));
        Assert.Empty(DeliveryRules.DecodeAddresses(null));
        Assert.Equal([new Address((Channel)(-5), "x")], DeliveryRules.DecodeAddresses("-5\u001fx"));
    }

    [Fact]
    public void Addresses_Roundtrip_Through_Storage_Encoding()
    {
        Address[] addresses = [new(Channel.Email, "a@b.example"), new(Channel.Sms, "+33612345678"), new(Channel.AppInbox, "reg-1")];
        Assert.Equal(addresses, DeliveryRules.DecodeAddresses(DeliveryRules.EncodeAddresses(addresses)));
    }
}
