package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

var completionCommand = command{
	name: "completion", synopsis: "bash|zsh|fish",
	short: "print a shell completion script",
	long: "Prints a completion script for the shell, made from the same flag definitions as --help:\n" +
		"  bash: source <(ember completion bash)   (or save it in /etc/bash_completion.d/ember)\n" +
		"  zsh:  source <(ember completion zsh)\n" +
		"  fish: ember completion fish | source   (or save it in ~/.config/fish/completions/ember.fish)\n" +
		"Commands that take a VM name complete the started VMs' names.",
	setup: func(*pflag.FlagSet) func([]string) error {
		return func(args []string) error {
			if len(args) != 1 {
				return usageErrorf("give one shell: bash, zsh or fish")
			}
			switch args[0] {
			case "bash":
				writeBashCompletion(os.Stdout)
			case "zsh":
				fmt.Fprintln(os.Stdout, "#compdef ember\nautoload -U +X bashcompinit && bashcompinit")
				writeBashCompletion(os.Stdout)
			case "fish":
				writeFishCompletion(os.Stdout)
			default:
				return usageErrorf("unknown shell %q: bash, zsh or fish", args[0])
			}
			return nil
		}
	},
}

// takesVM lists the commands whose argument is a started VM's name.
var takesVM = map[string]bool{"console": true, "stop": true, "kill": true, "pause": true,
	"resume": true, "inspect": true, "snapshot": true, "rm": true, "logs": true, "exec": true}

// listVMs is the shell command that prints the started VMs' names.
const listVMs = "ember ls --format '{{.Name}}' 2>/dev/null"

// completable is a listed command with its flags: all, and those that take a value.
type completable struct {
	command
	flags, valued []*pflag.Flag
}

func completables() []completable {
	var out []completable
	for _, c := range commands {
		if c.hidden {
			continue
		}
		fs, _ := c.flags()
		cc := completable{command: c}
		fs.VisitAll(func(f *pflag.Flag) {
			cc.flags = append(cc.flags, f)
			if f.NoOptDefVal == "" {
				cc.valued = append(cc.valued, f)
			}
		})
		out = append(out, cc)
	}
	return out
}

func flagNames(fl []*pflag.Flag) string {
	var names []string
	for _, f := range fl {
		names = append(names, "--"+f.Name)
	}
	return strings.Join(names, " ")
}

func writeBashCompletion(w io.Writer) {
	cmds := completables()
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, `# bash completion for ember (ember completion bash)
_ember() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))
    return
  fi
  local flags="" valued=""
  case $cmd in
`, strings.Join(names, " "))
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s) flags=%q valued=%q ;;\n", c.name, flagNames(c.flags)+" --help", flagNames(c.valued))
	}
	fmt.Fprintf(w, `  esac
  case " $valued " in *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [ "$cmd" = completion ]; then
    COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
  elif [[ " %s " == *" $cmd "* ]]; then
    COMPREPLY=($(compgen -W "$(%s)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _ember ember
`, strings.Join(keys(takesVM), " "), listVMs)
}

func writeFishCompletion(w io.Writer) {
	q := func(s string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
	}
	fmt.Fprintln(w, "# fish completion for ember (ember completion fish)\ncomplete -c ember -f")
	for _, c := range completables() {
		fmt.Fprintf(w, "complete -c ember -n __fish_use_subcommand -a %s -d %s\n", c.name, q(c.short))
		cond := q("__fish_seen_subcommand_from " + c.name)
		for _, f := range c.flags {
			usage := strings.SplitN(f.Usage, "\n", 2)[0]
			if f.NoOptDefVal == "" {
				fmt.Fprintf(w, "complete -c ember -n %s -l %s -r -F -d %s\n", cond, f.Name, q(usage))
			} else {
				fmt.Fprintf(w, "complete -c ember -n %s -l %s -d %s\n", cond, f.Name, q(usage))
			}
		}
	}
	fmt.Fprintf(w, "complete -c ember -n %s -a '(%s)'\n", q("__fish_seen_subcommand_from "+strings.Join(keys(takesVM), " ")),
		strings.ReplaceAll(listVMs, "'", `"`))
	fmt.Fprintf(w, "complete -c ember -n %s -a 'bash zsh fish'\n", q("__fish_seen_subcommand_from completion"))
}

func keys(m map[string]bool) []string {
	var out []string
	for _, c := range commands {
		if m[c.name] {
			out = append(out, c.name)
		}
	}
	return out
}
