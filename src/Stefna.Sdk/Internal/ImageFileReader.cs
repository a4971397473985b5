using System.Runtime.InteropServices;

namespace Stefna.Sdk.Internal;

/// <summary>
/// Reads a caller-named image file safely: only a regular file is opened (a device such as <c>/dev/zero</c> never ends,
/// opening a FIFO blocks until a writer comes), and at most <c>limit + 1</c> bytes are read whatever length the file
/// system reports (a file that grows while it is read, a /proc or /sys file that reports 0 or 4096).
/// </summary>
internal static class ImageFileReader
{
    public static async Task<byte[]> ReadAsync(string path, long limit, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new GenerationValidationException("image", $"Image file not found: {path}", "image_not_found");
        }

        if (!IsRegularFile(path, info))
        {
            throw new GenerationValidationException("image", $"The image must be a regular file, not a device, pipe or socket: {path}", "image_not_a_file");
        }

        if (info.Length > limit)
        {
            throw TooLarge(info.Length, limit);
        }

        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            using var buffer = new MemoryStream((int)Math.Min(Math.Max(info.Length, 4096), limit + 1));
            var chunk = new byte[81920];
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, limit + 1 - total)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    throw TooLarge(total, limit, atLeast: true);
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GenerationValidationException("image", $"The image file could not be read: {ex.Message}", "image_unreadable");
        }
    }

    private static GenerationValidationException TooLarge(long size, long limit, bool atLeast = false) =>
        new("image", $"The image is {(atLeast ? "over " + limit.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))} bytes; the limit is {limit:N0}.", "image_too_large");

    // The BCL tells a directory or a link from a file but not a regular file from a device, FIFO or socket
    // (FileAttributes is Normal for all three), and opening a FIFO blocks. On Linux the file type comes from statx(2),
    // whose structure has one layout on every architecture (glibc 2.28+). Elsewhere (no FIFOs on Windows; macOS's
    // struct stat differs by architecture) a special file is recognised by the size the file system reports for
    // devices, FIFOs and sockets, 0 — an empty regular file is refused as empty anyway.
    private static bool IsRegularFile(string path, FileInfo info)
    {
        if (info.Attributes.HasFlag(FileAttributes.Directory) || info.Attributes.HasFlag(FileAttributes.Device))
        {
            return false;
        }

        if (OperatingSystem.IsLinux())
        {
            var buffer = new byte[256];
            try
            {
                if (NativeMethods.Statx(NativeMethods.AtFdCwd, path, 0, NativeMethods.StatxType, buffer) == 0)
                {
                    var mode = BitConverter.ToUInt16(buffer, 28);
                    return (mode & NativeMethods.TypeMask) == NativeMethods.RegularFile;
                }
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                // An old C library: fall through to the size test.
            }
        }

        return info.Length > 0;
    }

    private static class NativeMethods
    {
        public const int AtFdCwd = -100;
        public const uint StatxType = 0x1;
        public const int TypeMask = 0xF000;   // S_IFMT
        public const int RegularFile = 0x8000; // S_IFREG

        // int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *statxbuf);
        // stx_mode (u16) sits at offset 28 of struct statx on every architecture.
        [DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);
    }
}
