package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

var manCommand = command{
	name: "man", short: "print the ember(1) man page (troff: man -l <(ember man))",
	long: "Prints ember(1), made from the same help texts and flag definitions as --help.",
	setup: func(*pflag.FlagSet) func([]string) error {
		return func(args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			writeMan(os.Stdout)
			return nil
		}
	},
}

func writeMan(w io.Writer) {
	fmt.Fprintf(w, ".TH EMBER 1 \"\" \"ember\" \"User Commands\"\n")
	fmt.Fprintf(w, ".SH NAME\nember \\- %s\n", roff(emberShort))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B ember\n.I COMMAND\n[\\fIFLAGS\\fR] [\\fIARGS\\fR]\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n%s\n", roff(emberLong))
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, c := range commands {
		if c.hidden {
			continue
		}
		fmt.Fprintf(w, ".SS \"ember %s\"\n%s\n", roff(strings.TrimSpace(c.name+" "+c.synopsis)), roff(firstNonEmpty(c.long, c.short)))
		fs, _ := c.flags()
		fs.VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			fmt.Fprintf(w, ".TP\n\\fB\\-\\-%s\\fR", roff(f.Name))
			if name != "" && f.NoOptDefVal == "" {
				fmt.Fprintf(w, " \\fI%s\\fR", roff(name))
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "\n%s\n", roff(usage))
		})
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n0 on success (for run: the guest powered off or rebooted); "+
		"1 on an error, with one line saying what failed; 2 on a usage mistake.\n")
	fmt.Fprintf(w, ".SH SEE ALSO\nThe README and docs/ in ember's source tree.\n")
}

// roff escapes text for troff: backslashes, hyphens, and a leading dot or quote.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = "\\&" + l
		}
	}
	return strings.Join(lines, "\n")
}
