using System.Globalization;
using TrustLaunch.CriBench;

// bench/compare-cri [RUNS]: kubelet's calls through the CRI endpoint vs straight to containerd (see CriComparison).
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
if (runs < 2)
{
    await Console.Error.WriteLineAsync("usage: compare-cri [RUNS >= 2]");
    return 2;
}
await CriComparison.RunAsync(runs, Console.Out);
return 0;
