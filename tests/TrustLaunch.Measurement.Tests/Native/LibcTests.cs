using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Testing;

namespace TrustLaunch.Measurement.Tests.Native;

/// <summary>
/// The constants and struct layouts of <see cref="Libc"/> against the C headers of the running machine: a tiny C
/// program compiled with gcc prints each one, so an architecture whose values differ (O_DIRECTORY and O_NOFOLLOW on
/// arm64) fails here instead of in a syscall.
/// </summary>
public sealed class LibcTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-libc-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>C names whose managed field is named differently, or is not a plain macro of the same name.</summary>
    private static readonly Dictionary<string, string> Expressions = new(StringComparer.Ordinal)
    {
        ["STATX.UID"] = "offsetof(struct statx, stx_uid)",
        ["STATX.GID"] = "offsetof(struct statx, stx_gid)",
        ["STATX.MODE"] = "offsetof(struct statx, stx_mode)",
        ["STATX.SIZE"] = "offsetof(struct statx, stx_size)",
        ["STATX.RDEVMAJOR"] = "offsetof(struct statx, stx_rdev_major)",
        ["STATX.RDEVMINOR"] = "offsetof(struct statx, stx_rdev_minor)",
        ["STATX.NLINK"] = "offsetof(struct statx, stx_nlink)",
        ["STATX.INO"] = "offsetof(struct statx, stx_ino)",
        ["STATX.CTIMESECONDS"] = "offsetof(struct statx, stx_ctime.tv_sec)",
        ["STATX.CTIMENANOSECONDS"] = "offsetof(struct statx, stx_ctime.tv_nsec)",
        ["STATX.MTIMESECONDS"] = "offsetof(struct statx, stx_mtime.tv_sec)",
        ["STATX.MTIMENANOSECONDS"] = "offsetof(struct statx, stx_mtime.tv_nsec)",
        ["STATX.DEVMAJOR"] = "offsetof(struct statx, stx_dev_major)",
        ["STATX.DEVMINOR"] = "offsetof(struct statx, stx_dev_minor)",
        ["OPENHOW.SIZE"] = "sizeof(struct open_how)",
        ["TIMESPEC.SIZE"] = "sizeof(struct timespec)",
    };

    private static IEnumerable<(string Name, long Value)> ManagedValues()
    {
        foreach (var field in typeof(Libc).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.FieldType == typeof(int) || field.FieldType == typeof(long) || field.FieldType == typeof(ulong))
                yield return (field.Name, Convert.ToInt64(field.GetValue(null), CultureInfo.InvariantCulture));
        }
        foreach (var member in new[] { "Uid", "Gid", "Mode", "Size", "RdevMajor", "RdevMinor", "Nlink", "Ino", "CtimeSeconds", "CtimeNanoseconds", "MtimeSeconds", "MtimeNanoseconds", "DevMajor", "DevMinor" })
            yield return ("STATX." + member.ToUpperInvariant(), Marshal.OffsetOf<Libc.Statx>(member).ToInt64());
        yield return ("OPENHOW.SIZE", Marshal.SizeOf<Libc.OpenHow>());
        yield return ("TIMESPEC.SIZE", Marshal.SizeOf<Libc.Timespec>());
    }

    [Fact]
    public async Task Constants_EqualTheCHeadersOfThisArchitecture()
    {
        var managed = ManagedValues().ToList();
        var source = Path.Combine(_directory, "constants.c");
        var program = Path.Combine(_directory, "constants");
        await File.WriteAllTextAsync(source, $$"""
            #define _GNU_SOURCE
            #include <errno.h>
            #include <fcntl.h>
            #include <linux/magic.h>
            #include <linux/openat2.h>
            #include <sched.h>
            #include <signal.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <sys/file.h>
            #include <sys/mount.h>
            #include <sys/prctl.h>
            #include <sys/stat.h>
            #include <sys/syscall.h>
            #include <sys/wait.h>
            #include <time.h>
            int main(void) {
            {{string.Join("\n", managed.Select(m => $"    printf(\"%s %lld\\n\", \"{m.Name}\", (long long)({Expressions.GetValueOrDefault(m.Name, m.Name)}));"))}}
                return 0;
            }
            """);
        (await ProcessRunner.RunAsync("gcc", ["-o", program, source])).EnsureSuccess("gcc");

        var printed = (await ProcessRunner.RunAsync(program, [])).EnsureSuccess("constants").StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).Select(p => (Name: p[0], Value: long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();

        Assert.Equal(managed.OrderBy(m => m.Name, StringComparer.Ordinal), printed.OrderBy(m => m.Name, StringComparer.Ordinal));
        Assert.Contains(managed, m => m.Name == "O_DIRECTORY");
    }
}
