using Dcis.Crisis.Common.V1;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Dispatch;

public sealed class MemoryReleaseTests
{
    [Fact]
    public async Task Memory_Is_Released_Once_A_Burst_Is_Sent_And_Published_And_The_Service_Keeps_Working()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:StatusFlushInterval"] = "00:00:00.050" });
        await h.IntakeAsync(Request("alert-burst", SmsRecipients(20), h.Clock.GetUtcNow()));
        Assert.Equal(0, h.Housekeeping.MemoryReleases); // queued, not sent: the burst is not over

        Assert.Equal(20, await h.DispatchUntilIdleAsync());
        for (var i = 0; i < 600 && h.Housekeeping.MemoryReleases == 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(1, h.Housekeeping.MemoryReleases);
        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail WHERE id > (SELECT published_up_to FROM trail_cursor)"));

        // Pooled connections were closed: the next burst opens new ones.
        await h.IntakeAsync(Request("alert-next", SmsRecipients(5, "next", "+3362"), h.Clock.GetUtcNow()));
        Assert.Equal(5, await h.DispatchUntilIdleAsync());
        Assert.Equal(25, (await h.SmsMessagesAsync()).Count);
        Assert.Equal(25, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Sent}"));
    }
}
