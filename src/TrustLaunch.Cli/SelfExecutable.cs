using System.Diagnostics;

namespace TrustLaunch.Cli;

/// <summary>
/// How to start this same <c>trustlaunch</c> again as a child process: the native executable, or
/// <c>dotnet trustlaunch.dll</c> when running under the SDK host.
/// </summary>
public static class SelfExecutable
{
    /// <summary>A start info for <c>PREFIX trustlaunch ARGUMENTS</c>; <paramref name="prefix"/> is a wrapper such as <c>setsid</c>.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, string? prefix = null)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable this is");
        var start = new ProcessStartInfo(prefix ?? self) { UseShellExecute = false };
        if (prefix is not null)
            start.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "trustlaunch.dll"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return start;
    }
}
