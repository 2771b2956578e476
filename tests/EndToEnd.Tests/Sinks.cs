namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>What the local mail catcher and SMS sink recorded, read over their HTTP APIs.</summary>
public static class Sinks
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>An SMS as the sink recorded it, with the delivery receipt it reported for it (null until reported).</summary>
    public sealed record Sms(long Id, string To, string Text, string Reference, string? Receipt);

/// <summary>An e-mail as the mail sink stored it, with the delivery or bounce report it sent for it (null until reported).</summary>
    public sealed record Mail(long Id, string MessageId, string From, List<string> To, string Subject, string? Receipt);

    /// <summary>Messages stored, and hand-overs the sink recognised as repeats (same Message-Id or reference) and ignored.</summary>
    public sealed record Stats(long Messages, long Duplicates);

    public static async Task<List<Sms>> SmsAsync(string? to = null) =>
        await Http.GetFromJsonAsync<List<Sms>>(new Uri("http://127.0.0.1:5410/api/messages?limit=100000" + (to is null ? "" : "&to=" + Uri.EscapeDataString(to)))) ?? [];

    public static async Task<List<Mail>> MailAsync(string? to = null) =>
        await Http.GetFromJsonAsync<List<Mail>>(new Uri("http://127.0.0.1:5420/api/messages?limit=100000" + (to is null ? "" : "&to=" + Uri.EscapeDataString(to)))) ?? [];

    public static async Task<Stats> SmsStatsAsync() => (await Http.GetFromJsonAsync<Stats>(new Uri("http://127.0.0.1:5410/api/stats")))!;

    public static async Task<Stats> MailStatsAsync() => (await Http.GetFromJsonAsync<Stats>(new Uri("http://127.0.0.1:5420/api/stats")))!;

    /// <summary>Every message text (SMS text, e-mail subject) per address, both sinks together.</summary>
    public static async Task<Dictionary<string, List<string>>> TextsByAddressAsync()
    {
        var byAddress = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        void Add(string address, string text)
        {
            if (!byAddress.TryGetValue(address, out var list))
            {
                byAddress[address] = list = [];
            }

            list.Add(text);
        }

        foreach (var sms in await SmsAsync())
        {
            Add(sms.To, sms.Text);
        }

        foreach (var mail in await MailAsync())
        {
            foreach (var to in mail.To)
            {
                Add(to, mail.Subject);
            }
        }

        return byAddress;
    }
}
