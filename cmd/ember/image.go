package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/devices/virtio/vsock"
	"github.com/embervm/ember/internal/agentproto"
	"github.com/embervm/ember/ociimage"
	"github.com/embervm/ember/vmm"
)

// The guest side of ember run --image (guest-images/init: ember.rootfs):
// the image's rootfs is the read-only share imageRootfsTag, under a
// tmpfs overlay at imageRoot, where the agent chroots the process.
const (
	imageRootfsTag = "ember-rootfs"
	imageRoot      = "/run/ember/rootfs"
	defaultPath    = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// imageRun is ember run --image: what to run, from the flags.
type imageRun struct {
	path    string      // --image
	args    []string    // after the flags: the command (else the image's Cmd)
	exec    execOptions // -i, -t, -e, -w, -u
	console string      // --console if given ("": kept in memory only)
}

// imageOnlyFlags apply with --image only.
var imageOnlyFlags = []string{"interactive", "tty", "env", "workdir", "user"}

// noImageFlags refuses -i, -t, -e, -w, -u without --image.
func noImageFlags(fs *pflag.FlagSet) error {
	for _, f := range imageOnlyFlags {
		if fs.Changed(f) {
			return usageErrorf("--%s applies with --image only", f)
		}
	}
	return nil
}

// runImageFlags is ember run with --image: the flags checked, then runImage.
func runImageFlags(fs *pflag.FlagSet, vf *vmFlags, cf *confineFlags, o execOptions, image string, args []string, bootTimes string) error {
	if bootTimes != "" {
		return usageErrorf("--boot-times does not apply with --image")
	}
	conf, err := cf.spec()
	if err != nil {
		return err
	}
	r := imageRun{path: image, args: args, exec: o}
	if fs.Changed("console") {
		r.console = vf.console
	}
	return runImage(r, vf, conf)
}

// runImage opens and unpacks the image (bad input fails here, before any
// VM), boots the default guest with its rootfs shared read-only, runs the
// process through the agent and exits with its status.
func runImage(r imageRun, vf *vmFlags, conf confineSpec) error {
	if conf.Jail != nil {
		return usageErrorf("--image with --jail is not supported yet: drop --jail")
	}
	if vf.vsock == "none" {
		return usageErrorf("--image with --vsock none: the process runs through the guest agent, on vsock; drop --vsock none")
	}
	cfg, err := vf.config()
	if err != nil {
		return err
	}
	im, err := ociimage.Open(r.path)
	if err != nil {
		return err
	}
	cache, err := ociimage.CacheDir()
	if err != nil {
		return err
	}
	u, err := im.Unpack(cache)
	if err != nil {
		return err
	}
	for _, n := range u.Notes {
		fmt.Fprintf(os.Stderr, "ember run: image %s: %s\n", r.path, n)
	}
	req, err := imageRequest(im.Config, u.Rootfs, r.exec, r.args)
	if err != nil {
		return err
	}
	sockDir, err := os.MkdirTemp("", "ember-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(sockDir)
	if err := imageVMConfig(&cfg, u.Rootfs, sockDir); err != nil {
		return err
	}
	return runImageVM(cfg, conf, r, req)
}

// imageVMConfig adds to cfg what an image's VM needs: its rootfs as a
// read-only share mounted by init under an overlay, and a vsock device
// (its socket in sockDir unless --vsock gave one) for the agent.
func imageVMConfig(cfg *vmm.Config, rootfs, sockDir string) error {
	cfg.Shares = append(cfg.Shares, vmm.ShareConfig{Dir: rootfs, Tag: imageRootfsTag, ReadOnly: true})
	cfg.Cmdline = strings.TrimSpace(cfg.Cmdline + " ember.rootfs=" + imageRootfsTag + ":overlay")
	if cfg.Vsock == nil {
		cfg.Vsock = &vmm.VsockConfig{CID: vsock.MinGuestCID}
	}
	if cfg.Vsock.Path == "" {
		cfg.Vsock.Path = sockDir + "/vsock.sock"
	}
	return cfg.Validate()
}

// imageRequest is the agent request running the image's process as docker
// would: Entrypoint then args (else Cmd); the image's Env with -e over it
// (and PATH, HOME as docker adds them); -w else WorkingDir else /; -u else
// User, resolved in the image's etc/passwd and etc/group; chrooted in the
// image's root.
func imageRequest(c ociimage.Config, rootfs string, o execOptions, args []string) (agentproto.ExecRequest, error) {
	argv := append([]string{}, c.Entrypoint...)
	if len(args) > 0 {
		argv = append(argv, args...)
	} else {
		argv = append(argv, c.Cmd...)
	}
	if len(argv) == 0 {
		return agentproto.ExecRequest{}, usageErrorf("the image has no Entrypoint or Cmd: give the command after --image PATH (ember run --image PATH -- CMD ARGS...)")
	}
	spec := c.User
	if o.user != "" {
		spec = o.user
	}
	user, err := resolveImageUser(rootfs, spec)
	if err != nil {
		return agentproto.ExecRequest{}, err
	}
	opts := o
	opts.user = "" // resolved by name above, not as exec's numbers
	req, err := opts.request(argv)
	if err != nil {
		return req, err
	}
	req.Env = mergeEnv([]string{defaultPath, "HOME=" + user.home}, c.Env, req.Env)
	if req.Dir == "" {
		req.Dir = c.WorkingDir
	}
	req.Root, req.UID, req.GID, req.Groups = imageRoot, &user.uid, &user.gid, user.groups
	return req, req.Validate()
}

// mergeEnv merges KEY=VALUE lists, a later list's KEY replacing an
// earlier one's in its place.
func mergeEnv(lists ...[]string) []string {
	var out []string
	at := map[string]int{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := at[k]; ok {
				out[i] = kv
				continue
			}
			at[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
