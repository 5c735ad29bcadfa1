package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manCommand prints ember(1), a man page made from the command tree:
// the same synopses, help texts and flag definitions as --help
// ('make man' writes docs/ember.1).
func manCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "man",
		Short: "print the ember(1) man page (troff; 'man -l -' reads it)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			writeMan(c.OutOrStdout(), root)
			return nil
		},
	}
}

func writeMan(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, ".TH EMBER 1 \"\" \"ember\" \"User Commands\"\n")
	fmt.Fprintf(w, ".SH NAME\nember \\- %s\n", roff(root.Short))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B ember\n.I COMMAND\n[\\fIFLAGS\\fR] [\\fIARGS\\fR]\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n%s\n", roff(root.Long))
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		fmt.Fprintf(w, ".SS \"ember %s\"\n%s\n", roff(c.Use), roff(firstNonEmpty(c.Long, c.Short)))
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			fmt.Fprintf(w, ".TP\n\\fB\\-\\-%s\\fR", roff(f.Name))
			if name, _ := pflag.UnquoteUsage(f); name != "" {
				fmt.Fprintf(w, " \\fI%s\\fR", roff(name))
			}
			_, usage := pflag.UnquoteUsage(f)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "\n%s\n", roff(usage))
		})
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n0 on success (for run: the guest powered off or rebooted); "+
		"1 on an error, with one line saying what failed; 2 on a usage mistake.\n")
	fmt.Fprintf(w, ".SH SEE ALSO\nThe README and docs/ in ember's source tree.\n")
}

// roff escapes text for troff: backslashes, and a leading dot or quote.
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

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
