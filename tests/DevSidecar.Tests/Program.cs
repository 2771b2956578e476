using Dcis.Crisis.DevSidecar.Tests;

// The test assembly doubles as a subscriber app process for the kill -9 tests:
// dotnet DevSidecar.Tests.dll subscriber <port> <record-file>
if (args is ["subscriber", var port, var recordFile])
{
    await DurableSubscriber.RunAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), recordFile);
}
