# counter: count rounds in the word at 0x2000 and print each round's count
# modulo 16 as 'a'..'p' on COM1; a newline on the serial input resets.
# For snapshot tests: the printed letters run on, one step at a time,
# across a snapshot and restore.
	.code16
	.globl counter
counter:
1:	incw 0x2000
	mov 0x2000, %ax
	and $0x0f, %al
	add $'a', %al
	mov $0x3f8, %dx
	out %al, %dx
	mov $0x3fd, %dx
	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	cmp $10, %al
	jne 1b
	mov $0xfe, %al
	out %al, $0x64
	hlt
