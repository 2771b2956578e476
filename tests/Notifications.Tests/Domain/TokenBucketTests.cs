using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Notifications.Tests.Domain;

public sealed class TokenBucketTests
{
    [Fact]
    public void TryTake_Grants_Burst_Then_Refills_At_Rate_And_Caps_At_Burst()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(ratePerSecond: 5, burstSeconds: 1, clock);
        Assert.Equal(5, bucket.TryTake(100));
        Assert.Equal(0, bucket.TryTake(100));
        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal(2, bucket.TryTake(100));
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(5, bucket.TryTake(100));
    }

    [Fact]
    public void Return_Gives_Back_Unused_Tokens()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(10, 1, clock);
        Assert.Equal(10, bucket.TryTake(10));
        bucket.Return(4);
        Assert.Equal(4, bucket.TryTake(10));
    }
}
