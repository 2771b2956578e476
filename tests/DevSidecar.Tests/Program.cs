using Dcis.Crisis.DevSidecar.Tests;

// The test assembly doubles as an app process:
// dotnet DevSidecar.Tests.dll subscriber <port> <record-file>   (kill -9 tests)
// dotnet DevSidecar.Tests.dll bulk-subscriber <port> <record-file> [hold-after]   (kill -9 of a bulk subscriber)
// dotnet DevSidecar.Tests.dll launcher-app                      (run by the launcher; env APP_PORT, RECORD_FILE, MODE)
if (args is ["subscriber", var port, var recordFile])
{
    await DurableSubscriber.RunAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), recordFile);
}
else if (args is ["bulk-subscriber", var bulkPort, var bulkRecordFile, .. var hold])
{
    await DurableSubscriber.RunBulkAsync(
        int.Parse(bulkPort, System.Globalization.CultureInfo.InvariantCulture),
        bulkRecordFile,
        hold is [var holdAfter] ? int.Parse(holdAfter, System.Globalization.CultureInfo.InvariantCulture) : null);
}
else if (args is ["launcher-app"])
{
    await LauncherApp.RunAsync();
}
