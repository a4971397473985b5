using System.Text;

namespace Stefna.Samples.Console;

/// <summary>
/// Passes text through but drops the spaces at the end of each line: Spectre's grids and tables pad every cell to
/// its column width, which left trailing spaces on each line of the text output. Spaces are held back until a
/// character other than a space or a line break follows them, so nothing needs flushing at the end.
/// </summary>
internal sealed class TrimTrailingSpaceWriter(TextWriter inner) : TextWriter
{
    private int _pendingSpaces;

    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override void Write(char value)
    {
        switch (value)
        {
            case ' ':
                _pendingSpaces++;
                return;
            case '\n' or '\r':
                _pendingSpaces = 0;
                break;
            default:
                if (_pendingSpaces > 0)
                {
                    inner.Write(new string(' ', _pendingSpaces));
                    _pendingSpaces = 0;
                }

                break;
        }

        inner.Write(value);
    }

    public override void Write(string? value)
    {
        foreach (var ch in value ?? string.Empty)
        {
            Write(ch);
        }
    }

    public override void Flush() => inner.Flush();
}
